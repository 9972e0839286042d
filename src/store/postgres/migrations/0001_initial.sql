-- secobot's PostgreSQL schema, version 1. The documents (state, message,
-- ticket, mail, audit entry, account, login) are the store's own record types
-- as JSON, the same documents the sled backend keeps; the columns beside them
-- are what queries select, order and constrain on.

-- One row per conversation: its state document (owned by `conversation`).
CREATE TABLE conversations (
    session    text        PRIMARY KEY,
    state      jsonb       NOT NULL,
    last_seq   bigint      NOT NULL,
    ticket     text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_idle ON conversations (updated_at) WHERE ticket IS NULL;

-- Messages with seq. The primary key is what makes seq atomic across
-- instances: a second writer of the same (session, seq) is refused.
CREATE TABLE messages (
    session text   NOT NULL REFERENCES conversations (session) ON DELETE CASCADE,
    seq     bigint NOT NULL CHECK (seq > 0),
    body    jsonb  NOT NULL,
    PRIMARY KEY (session, seq)
);

-- Thumbs up/down on a message; the last one given wins.
CREATE TABLE feedback (
    session text   NOT NULL REFERENCES conversations (session) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    body    jsonb  NOT NULL,
    PRIMARY KEY (session, seq)
);

CREATE TABLE tickets (
    id   text  PRIMARY KEY,
    body jsonb NOT NULL
);
CREATE SEQUENCE ticket_numbers;

-- Agent accounts ('agent') and login sessions ('login').
CREATE TABLE records (
    kind text  NOT NULL,
    key  text  NOT NULL,
    body jsonb NOT NULL,
    PRIMARY KEY (kind, key)
);

-- Ids of mail and audit entries: increasing, shared by every instance.
CREATE SEQUENCE ids;

-- The mail outbox and what became of each e-mail.
CREATE TABLE mail (
    id              bigint      PRIMARY KEY,
    folder          text        NOT NULL CHECK (folder IN ('outbox', 'mail_sent', 'mail_failed')),
    ticket          text,
    next_attempt_at timestamptz NOT NULL,
    body            jsonb       NOT NULL
);
CREATE INDEX mail_due ON mail (next_attempt_at) WHERE folder = 'outbox';
CREATE INDEX mail_ticket ON mail (ticket);

CREATE TABLE audit (
    id   bigint PRIMARY KEY,
    body jsonb  NOT NULL
);

-- Small named values: the transcript-link secret.
CREATE TABLE meta (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);
