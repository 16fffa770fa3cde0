//! A throwaway schema on a PostgreSQL server, for tests and benchmarks: created empty, named
//! uniquely, dropped with everything in it when the value is dropped. Its [`Scratch::url`] points
//! a store at it (through the connection's `search_path`).

use std::sync::atomic::{AtomicU32, Ordering};

/// The server tests use unless `SHOKO_TEST_POSTGRES` names another.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A uniquely named, empty schema; dropped on drop.
pub struct Scratch {
    base: String,
    schema: String,
}

/// Runs statements on the server of `url`, on a connection of its own.
fn execute(url: &str, sql: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let connect = tokio_postgres::connect(url, tokio_postgres::NoTls);
        let (client, connection) = tokio::time::timeout(std::time::Duration::from_secs(5), connect)
            .await
            .map_err(|_| "no answer within 5 s".to_string())?
            .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(connection);
        let out = client.batch_execute(sql).await.map_err(|e| e.to_string());
        drop(client);
        let _ = driver.await;
        out
    })
}

impl Scratch {
    /// Creates a schema on the server of `base` (`postgres://user@host:port/db`, no query).
    pub fn create(base: &str) -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let schema = format!(
            "shoko_scratch_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        execute(base, &format!("CREATE SCHEMA {schema}"))?;
        Ok(Scratch {
            base: base.to_string(),
            schema,
        })
    }

    /// Creates a schema on the server tests use (`SHOKO_TEST_POSTGRES`, default
    /// [`DEFAULT_TEST_URL`]); `None`, saying why on stderr, when that server cannot be reached.
    pub fn for_test(test: &str) -> Option<Self> {
        let base = std::env::var("SHOKO_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_TEST_URL.into());
        match Scratch::create(&base) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("skipping {test} on PostgreSQL: no server at {base}: {e}");
                None
            }
        }
    }

    /// A URL whose connections see only this schema.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.schema)
    }

    /// Runs statements in this schema, on a connection of their own (tests editing the store
    /// behind its back).
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        execute(&self.url(), sql)
    }

    /// The schema's name.
    pub fn schema(&self) -> &str {
        &self.schema
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = execute(&self.base, &format!("DROP SCHEMA {} CASCADE", self.schema)) {
            eprintln!("could not drop scratch schema {}: {e}", self.schema);
        }
    }
}
