-- Which agents have a console open on which instance, refreshed by each
-- instance every few seconds: an agent none of the living instances has
-- seen lately is gone (their instance died), and the conversations they
-- hold go back to the queue after the grace period, as after a disconnect.
CREATE TABLE agent_presence (
    agent    text        NOT NULL,
    instance bigint      NOT NULL,
    seen_at  timestamptz NOT NULL,
    PRIMARY KEY (agent, instance)
);
