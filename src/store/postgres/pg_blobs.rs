//! The PostgreSQL store's attachment blobs: the `blobs` table of its schema (`sha256` primary
//! key, `data` bytea, sealed when the store encrypts), written with `ON CONFLICT DO NOTHING`
//! so a blob is stored once however many sessions refer to it.

use super::super::blobs::check_name;
use super::PostgresStore;
use crate::Result;

impl PostgresStore {
    pub(super) fn blob_save(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        check_name(sha256)?;
        let data = super::super::blobs::seal(&self.codec, sha256, bytes);
        let sha = sha256.to_string();
        self.inner
            .call(&format!("cannot save blob {sha256}"), move |c| {
                let schema = c.url.schema.clone();
                let (client, _) = c.get()?;
                client.execute(
                    &format!(
                        r#"INSERT INTO "{schema}".blobs (sha256, data) VALUES ($1, $2)
                       ON CONFLICT (sha256) DO NOTHING"#
                    ),
                    &[&sha, &data],
                )?;
                Ok(())
            })
    }

    pub(super) fn blob_load(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        check_name(sha256)?;
        let sha = sha256.to_string();
        let bytes = self
            .inner
            .call(&format!("cannot read blob {sha256}"), move |c| {
                let schema = c.url.schema.clone();
                let (client, _) = c.get()?;
                let row = client.query_opt(
                    &format!(r#"SELECT data FROM "{schema}".blobs WHERE sha256 = $1"#),
                    &[&sha],
                )?;
                Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
            })?;
        let Some(bytes) = bytes else { return Ok(None) };
        super::super::blobs::open(&self.codec, sha256, bytes).map(Some)
    }

    pub(super) fn blob_delete(&self, sha256: &str) -> Result<bool> {
        let sha = sha256.to_string();
        self.inner
            .call(&format!("cannot delete blob {sha256}"), move |c| {
                let schema = c.url.schema.clone();
                let (client, _) = c.get()?;
                let n = client.execute(
                    &format!(r#"DELETE FROM "{schema}".blobs WHERE sha256 = $1"#),
                    &[&sha],
                )?;
                Ok(n > 0)
            })
    }

    pub(super) fn blob_list(&self) -> Result<Vec<String>> {
        self.inner.call("cannot list blobs", move |c| {
            let schema = c.url.schema.clone();
            let (client, _) = c.get()?;
            let rows = client.query(&format!(r#"SELECT sha256 FROM "{schema}".blobs"#), &[])?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    }
}
