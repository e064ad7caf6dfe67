-- Reference data (НСИ): one table for every catalog. A record is never deleted: a plan that
-- referred to it keeps its meaning; a record ЕИС no longer lists is marked not actual.
-- search_code and search_name are the code and name lowercased in Rust, because lower() in
-- SQLite folds ASCII only and pickers search Cyrillic names.
CREATE TABLE reference_items (
    catalog      TEXT NOT NULL,
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    parent_code  TEXT,
    actual       BIGINT NOT NULL,
    search_code  TEXT NOT NULL,
    search_name  TEXT NOT NULL,
    loaded_at    BIGINT NOT NULL,
    PRIMARY KEY (catalog, code)
);

-- The last load of each catalog: the starter set shipped with plangraf or a file from ЕИС.
CREATE TABLE reference_loads (
    catalog    TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    loaded_at  BIGINT NOT NULL,
    entries    BIGINT NOT NULL
);
