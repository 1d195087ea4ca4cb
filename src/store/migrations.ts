/** Schema migrations, applied in order; PRAGMA user_version records how many ran. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE revisions (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     hash TEXT NOT NULL,
     parent INTEGER,
     author TEXT NOT NULL,
     message TEXT NOT NULL,
     created_at TEXT NOT NULL,
     config TEXT NOT NULL
   );
   CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE consumers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     groups TEXT NOT NULL,
     metadata TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY,
     ts TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     before_hash TEXT,
     after_hash TEXT,
     detail TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );`,
  `CREATE TABLE credentials (
     id TEXT PRIMARY KEY,
     consumer TEXT NOT NULL REFERENCES consumers(name) ON DELETE CASCADE,
     kind TEXT NOT NULL,
     lookup TEXT NOT NULL,
     secret TEXT NOT NULL,
     label TEXT NOT NULL DEFAULT '',
     metadata TEXT NOT NULL DEFAULT '{}',
     created_at TEXT NOT NULL,
     expires_at TEXT,
     revoked_at TEXT
   );
   CREATE INDEX credentials_lookup ON credentials (kind, lookup);
   CREATE INDEX credentials_consumer ON credentials (consumer);`,
  `CREATE TABLE ai_usage (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     day TEXT NOT NULL,
     request_id TEXT NOT NULL,
     consumer TEXT NOT NULL,
     route TEXT NOT NULL,
     model TEXT NOT NULL,
     provider TEXT NOT NULL,
     provider_model TEXT NOT NULL,
     input_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     cost REAL NOT NULL,
     latency_ms REAL NOT NULL,
     ttft_ms REAL,
     status INTEGER NOT NULL,
     stream INTEGER NOT NULL,
     cached INTEGER NOT NULL,
     estimated INTEGER NOT NULL
   );
   CREATE INDEX ai_usage_day ON ai_usage (day, consumer);
   CREATE INDEX ai_usage_ts ON ai_usage (ts);`,
  `CREATE TABLE request_log (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     request_id TEXT NOT NULL,
     method TEXT NOT NULL,
     host TEXT NOT NULL,
     path TEXT NOT NULL,
     query TEXT NOT NULL,
     route TEXT,
     service TEXT,
     headers TEXT NOT NULL,
     client_ip TEXT NOT NULL,
     consumer TEXT,
     identity TEXT,
     status INTEGER NOT NULL,
     latency_ms REAL NOT NULL,
     revision INTEGER,
     decisions TEXT NOT NULL,
     would_deny INTEGER NOT NULL,
     body TEXT,
     body_bytes INTEGER,
     body_truncated INTEGER NOT NULL,
     error TEXT
   );
   CREATE INDEX request_log_ts ON request_log (ts);
   CREATE INDEX request_log_route ON request_log (route, ts);
   CREATE INDEX request_log_consumer ON request_log (consumer, ts);
   CREATE INDEX request_log_would_deny ON request_log (ts) WHERE would_deny = 1;`,
  `CREATE TABLE admins (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   );
   CREATE TABLE proposals (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     created_at TEXT NOT NULL,
     author TEXT NOT NULL,
     message TEXT NOT NULL,
     config TEXT NOT NULL,
     base_hash TEXT,
     hash TEXT NOT NULL,
     status TEXT NOT NULL,
     activate_at TEXT,
     decided_by TEXT,
     decided_at TEXT,
     reason TEXT,
     revision_id INTEGER,
     canary TEXT
   );
   CREATE INDEX proposals_status ON proposals (status, activate_at);`,
  // Admins waiting for a second admin's confirmation (docs/approvals.md, "Admins under four-eyes").
  `ALTER TABLE admins ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
   ALTER TABLE admins ADD COLUMN confirmed_by TEXT;
   ALTER TABLE admins ADD COLUMN confirmed_at TEXT;`,
  // The audit key that HMACs an event's hash; null for the plain SHA-256 events before keys.
  `ALTER TABLE audit ADD COLUMN key_id TEXT;`,
];
