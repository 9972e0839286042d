-- Which conversations have a user's tab open on which instance, refreshed by
-- each instance every few seconds (and deleted when the last tab closes): an
-- agent's reply written on another instance is e-mailed only when no
-- instance has the user connected.
CREATE TABLE user_presence (
    session  text        NOT NULL,
    instance bigint      NOT NULL,
    seen_at  timestamptz NOT NULL,
    PRIMARY KEY (session, instance)
);
