-- Messages received from each operator platform, by interface and the Ret answered (0 accepted),
-- summed since the first one; the data-quality report reads them across restarts.
CREATE TABLE protocol_traffic (
    operator_id  TEXT NOT NULL,
    interface    TEXT NOT NULL,
    ret          INTEGER NOT NULL,
    count        BIGINT NOT NULL,
    first_at     BIGINT NOT NULL,
    last_at      BIGINT NOT NULL,
    PRIMARY KEY (operator_id, interface, ret)
);
