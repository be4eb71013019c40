//! `weft secret-key rotate`: re-seal every stored secret (connection
//! secrets and webhook signing secrets) under a new key, with the server
//! stopped. The new key is written to `secret.key.next` first, so a
//! rotation cut short leaves every secret readable (the server loads both
//! files) and can simply be run again; only when all is re-sealed does
//! `secret.key.next` replace `secret.key`. With the key in
//! `WEFT_SECRET_KEY`, the new key is printed for the operator to put there.

use crate::connections::Connections;
use crate::connections::keyring::{self, KEY_FILE, Keyring, NEXT_KEY_FILE};
use crate::{OpenError, automations::Automations};
use std::path::Path;
use std::sync::Arc;

/// What a rotation did.
pub struct Rotated {
    pub connections: usize,
    pub webhook_secrets: usize,
    /// The new key id.
    pub key_id: String,
    /// Set when the key lives in the environment: the operator must now
    /// set `WEFT_SECRET_KEY` to this value.
    pub new_env_key: Option<String>,
}

/// Rotate the key of the server whose data directory is `data_dir` (the
/// store in `data_dir/server`).
pub fn rotate(data_dir: &Path) -> Result<Rotated, OpenError> {
    let old = Keyring::load(data_dir)?;
    let from_env = Keyring::from_env();
    let next_path = data_dir.join(NEXT_KEY_FILE);
    let new_key = match std::fs::read_to_string(&next_path) {
        // An interrupted rotation: finish it with the same key.
        Ok(text) if !text.trim().is_empty() => text.trim().to_string(),
        _ => {
            let key = keyring::generate_key();
            keyring::write_key_file(&next_path, &key)?;
            key
        }
    };
    let ring = Arc::new(Keyring::rotated(&new_key, old)?);
    let db = crate::kv::Tables::Sled(
        sled::open(data_dir.join("server")).map_err(crate::kv::KvError::from)?,
    );
    let connections = Connections::open(&db, ring.clone())?;
    let resealed = connections
        .reseal_all(&ring)
        .map_err(|e| OpenError::Key(keyring::KeyError::Io(e.to_string())))?;
    let automations = Automations::open(&db)?;
    let mut webhook_secrets = 0;
    for mut a in automations.list()? {
        let Some(sealed) = a.webhook_secret_sealed.clone() else {
            continue;
        };
        if ring.is_current(&sealed) {
            continue;
        }
        let aad = crate::api::webhook_aad(&a.id);
        let plain = ring.open(&aad, &sealed)?;
        let current = a.clone();
        a.webhook_secret_sealed = Some(ring.seal(&aad, &plain));
        automations.replace(&current, &a)?;
        webhook_secrets += 1;
    }
    db.flush()?;
    let new_env_key = if from_env {
        let _ = std::fs::remove_file(&next_path);
        Some(new_key)
    } else {
        std::fs::rename(&next_path, data_dir.join(KEY_FILE))
            .map_err(|e| keyring::KeyError::Io(format!("cannot install the new key file: {e}")))?;
        None
    };
    Ok(Rotated {
        connections: resealed,
        webhook_secrets,
        key_id: ring.key_id().to_string(),
        new_env_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::{AuthSettings, Connection, ConnectionStatus, SecretMaterial};

    #[test]
    fn rotation_reseals_everything_and_the_old_key_is_gone() {
        if Keyring::from_env() {
            return;
        }
        let dir = tempfile::tempdir().expect("dir");
        let old_key = {
            let ring = Arc::new(Keyring::load(dir.path()).expect("key"));
            let db = crate::kv::Tables::Sled(sled::open(dir.path().join("server")).expect("db"));
            let conns = Connections::open(&db, ring.clone()).expect("tree");
            let secrets = SecretMaterial {
                token: Some("xoxb-rotate-me".into()),
                ..Default::default()
            };
            conns
                .put(&Connection {
                    id: "c1".into(),
                    owner: "alice".into(),
                    connector: "slack".into(),
                    name: "bot".into(),
                    auth: AuthSettings::Bearer,
                    fields: serde_json::json!({}),
                    sealed: conns.seal("c1", &secrets),
                    status: ConnectionStatus::Ok,
                    status_reason: None,
                    expires_at: None,
                    created_at: 0,
                    updated_at: 0,
                })
                .expect("put");
            db.flush().expect("flush");
            std::fs::read_to_string(dir.path().join(KEY_FILE)).expect("key file")
        };
        let report = rotate(dir.path()).expect("rotate");
        assert_eq!(report.connections, 1);
        assert!(report.new_env_key.is_none());
        let new_key = std::fs::read_to_string(dir.path().join(KEY_FILE)).expect("key file");
        assert_ne!(old_key, new_key);
        assert!(!dir.path().join(NEXT_KEY_FILE).exists());
        {
            // Only the new key is needed now; the old one opens nothing.
            let ring = Arc::new(Keyring::from_keys(new_key.trim(), &[]).expect("ring"));
            let db = crate::kv::Tables::Sled(sled::open(dir.path().join("server")).expect("db"));
            let conns = Connections::open(&db, ring).expect("tree");
            let c = conns.get("c1").expect("get").expect("present");
            let secrets = conns.open_secrets(&c).expect("opens with the new key");
            assert_eq!(secrets.token.as_deref(), Some("xoxb-rotate-me"));
            let old_ring = Keyring::from_keys(old_key.trim(), &[]).expect("ring");
            assert!(old_ring.open("c1", &c.sealed).is_err());
        }
        // Running it again is harmless.
        assert_eq!(rotate(dir.path()).expect("again").connections, 1);
    }
}
