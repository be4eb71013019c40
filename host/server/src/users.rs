//! Users, roles and API tokens. Tokens are random (244 bits) and stored
//! only as their SHA-256: a fast hash is enough for secrets that are not
//! guessable, and it keeps every authenticated request cheap.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
}

/// Users and token hashes in two tables.
#[derive(Clone)]
pub struct Users {
    users: crate::kv::Tree,
    tokens: crate::kv::Tree,
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token, `wft_` + 64 hex digits.
pub fn new_token() -> String {
    format!(
        "wft_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Users {
    pub fn open(db: &crate::kv::Tables) -> Result<Self, crate::kv::KvError> {
        Ok(Users {
            users: db.open_tree("users")?,
            tokens: db.open_tree("tokens")?,
        })
    }

    pub fn is_empty(&self) -> Result<bool, crate::kv::KvError> {
        self.users.is_empty()
    }

    pub fn get(&self, name: &str) -> Result<Option<User>, crate::kv::KvError> {
        Ok(self
            .users
            .get(name.as_bytes())?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Create a user with `token` (give `None` to generate one); returns
    /// the token, which is not stored and cannot be shown again.
    pub fn create(
        &self,
        name: &str,
        role: Role,
        token: Option<String>,
    ) -> Result<Option<String>, crate::kv::KvError> {
        let user = User {
            name: name.to_string(),
            role,
        };
        let bytes = serde_json::to_vec(&user).unwrap_or_default();
        if self
            .users
            .compare_and_swap(name.as_bytes(), None as Option<&[u8]>, Some(bytes))?
            .is_err()
        {
            return Ok(None);
        }
        let token = token.unwrap_or_else(new_token);
        self.tokens
            .insert(token_hash(&token).as_bytes(), name.as_bytes())?;
        self.users.flush()?;
        self.tokens.flush()?;
        Ok(Some(token))
    }

    /// The user a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Result<Option<User>, crate::kv::KvError> {
        match self.tokens.get(token_hash(token).as_bytes())? {
            Some(name) => self.get(&String::from_utf8_lossy(&name)),
            None => Ok(None),
        }
    }

    pub fn list(&self) -> Result<Vec<User>, crate::kv::KvError> {
        self.users
            .iter()
            .values()
            .map(|v| v.map(|v| serde_json::from_slice(&v).ok()))
            .filter_map(|r| r.transpose())
            .collect()
    }

    /// Give `name` another role; `false` if there is no such user.
    pub fn set_role(&self, name: &str, role: Role) -> Result<bool, crate::kv::KvError> {
        let Some(mut user) = self.get(name)? else {
            return Ok(false);
        };
        user.role = role;
        let bytes = serde_json::to_vec(&user).unwrap_or_default();
        self.users.insert(name.as_bytes(), bytes)?;
        self.users.flush()?;
        Ok(true)
    }

    /// Revoke every API token of `name` and issue a new one (returned,
    /// shown once). Returns how many were revoked.
    pub fn replace_tokens(&self, name: &str) -> Result<(usize, String), crate::kv::KvError> {
        let mut revoked = 0;
        for entry in self.tokens.iter() {
            let (hash, owner) = entry?;
            if owner == name.as_bytes() {
                self.tokens.remove(hash)?;
                revoked += 1;
            }
        }
        let token = new_token();
        self.tokens
            .insert(token_hash(&token).as_bytes(), name.as_bytes())?;
        self.tokens.flush()?;
        Ok((revoked, token))
    }
}
