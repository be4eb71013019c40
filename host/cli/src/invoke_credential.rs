//! `weft connector invoke --connection-secret-stdin`: try an authenticated
//! block with a credential the host injects exactly as the server injects a
//! connection's (see `weft_host::credentials`): the block never sees it,
//! and it is scrubbed from responses, errors and the printed HTTP calls.
//!
//! The secret is read from the first line of stdin, never from a flag, so
//! it stays out of shell history and `ps`.

use crate::exit::{Failure, USAGE};
use clap::ValueEnum;
use std::io::BufRead;
use std::sync::Arc;
use weft_host::credentials::{Credential, CredentialSource, Secret, StaticCredential};
use weft_host::manifest::{AuthKind, KeyLocation};

/// The kinds of secret `invoke` can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialKind {
    /// `Authorization: Bearer <secret>` (also what OAuth2 connectors get:
    /// pass an access token).
    Bearer,
    /// The API key header or query parameter the connector declares.
    ApiKey,
    /// `Authorization: Basic`, user name from --connection-username,
    /// password from stdin.
    Basic,
}

impl CredentialKind {
    fn name(self) -> &'static str {
        match self {
            CredentialKind::Bearer => "bearer",
            CredentialKind::ApiKey => "api-key",
            CredentialKind::Basic => "basic",
        }
    }

    /// Whether a connector declaring `auth` accepts this kind.
    fn declared_by(self, auth: &AuthKind) -> bool {
        matches!(
            (self, auth),
            (CredentialKind::Bearer, AuthKind::Bearer)
                | (CredentialKind::Bearer, AuthKind::OAuth2Code { .. })
                | (
                    CredentialKind::Bearer,
                    AuthKind::OAuth2ClientCredentials { .. }
                )
                | (CredentialKind::ApiKey, AuthKind::ApiKey { .. })
                | (CredentialKind::Basic, AuthKind::Basic)
        )
    }
}

/// The credential flags of `invoke`, as given.
pub struct CredentialFlags {
    pub secret_stdin: bool,
    pub kind: Option<CredentialKind>,
    pub username: Option<String>,
}

/// Build the credential source for an invocation of a connector declaring
/// `auth`, reading the secret from `stdin`; `None` without
/// `--connection-secret-stdin`.
pub fn credential_source(
    flags: CredentialFlags,
    connector: &str,
    auth: &[AuthKind],
    stdin: impl BufRead,
) -> Result<Option<Arc<dyn CredentialSource>>, Failure> {
    if !flags.secret_stdin {
        if flags.kind.is_some() || flags.username.is_some() {
            return Err(Failure::new(
                USAGE,
                "--connection-kind and --connection-username need --connection-secret-stdin",
            )
            .hint("pipe the secret in: printf '%s\\n' \"$TOKEN\" | weft connector invoke … --connection-secret-stdin"));
        }
        return Ok(None);
    }
    let declared: Vec<CredentialKind> = [
        CredentialKind::Bearer,
        CredentialKind::ApiKey,
        CredentialKind::Basic,
    ]
    .into_iter()
    .filter(|k| auth.iter().any(|a| k.declared_by(a)))
    .collect();
    let names = |ks: &[CredentialKind]| ks.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    let kind = match (flags.kind, declared.as_slice()) {
        (Some(k), _) if declared.contains(&k) => k,
        (Some(k), _) => {
            return Err(Failure::new(
                USAGE,
                format!(
                    "connector {connector} does not declare {} authentication (it declares: {})",
                    k.name(),
                    if declared.is_empty() { "none".into() } else { names(&declared) }
                ),
            )
            .hint("pick one of those with --connection-kind, or add the kind to `auth` in the connector! declaration"));
        }
        (None, [only]) => *only,
        (None, []) => {
            return Err(Failure::new(
                USAGE,
                format!("connector {connector} declares no authentication that takes a secret"),
            )
            .hint("drop --connection-secret-stdin, or add e.g. Auth::Bearer to `auth` in the connector! declaration"));
        }
        (None, many) => {
            return Err(Failure::new(
                USAGE,
                format!(
                    "connector {connector} declares several kinds of authentication ({}); say which with --connection-kind",
                    names(many)
                ),
            ));
        }
    };
    if flags.username.is_some() && kind != CredentialKind::Basic {
        return Err(Failure::new(
            USAGE,
            "--connection-username is only for --connection-kind basic",
        ));
    }
    let secret = read_secret(stdin)?;
    let credential = match kind {
        CredentialKind::Bearer => Credential::Bearer(Secret::new(secret)),
        CredentialKind::Basic => Credential::Basic {
            username: flags.username.ok_or_else(|| {
                Failure::new(
                    USAGE,
                    "basic authentication needs --connection-username NAME",
                )
                .hint("the password is read from stdin")
            })?,
            password: Secret::new(secret),
        },
        CredentialKind::ApiKey => {
            let Some((location, name)) = auth.iter().find_map(|a| match a {
                AuthKind::ApiKey { location, name } => Some((*location, name.clone())),
                _ => None,
            }) else {
                return Err(Failure::new(USAGE, "no api-key auth declared"));
            };
            let value = Secret::new(secret);
            match location {
                KeyLocation::Header => Credential::ApiKeyHeader { name, value },
                KeyLocation::Query => Credential::ApiKeyQuery { name, value },
            }
        }
    };
    Ok(Some(StaticCredential::new(credential)))
}

/// The first line of stdin, without its line ending; refuses an empty one.
fn read_secret(mut stdin: impl BufRead) -> Result<String, Failure> {
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .map_err(|e| Failure::new(USAGE, format!("cannot read the secret from stdin: {e}")))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(Failure::new(
            USAGE,
            "--connection-secret-stdin read an empty secret",
        )
        .hint("pipe it in: printf '%s\\n' \"$TOKEN\" | weft connector invoke … --connection-secret-stdin"));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(kind: Option<CredentialKind>, username: Option<&str>) -> CredentialFlags {
        CredentialFlags {
            secret_stdin: true,
            kind,
            username: username.map(str::to_string),
        }
    }

    #[test]
    fn the_only_declared_kind_is_the_default_and_others_are_refused() {
        let auth = [AuthKind::Bearer];
        let ok = credential_source(flags(None, None), "x", &auth, &b"t0k\n"[..]);
        assert!(matches!(ok, Ok(Some(_))));
        let Err(refused) = credential_source(
            flags(Some(CredentialKind::Basic), None),
            "x",
            &auth,
            &b"p\n"[..],
        ) else {
            panic!("basic must be refused for a bearer-only connector");
        };
        assert!(
            refused.message.contains("declares: bearer"),
            "{}",
            refused.message
        );
        let Err(empty) = credential_source(flags(None, None), "x", &auth, &b"\n"[..]) else {
            panic!("an empty secret must be refused");
        };
        assert!(empty.message.contains("empty secret"));
    }

    #[test]
    fn basic_needs_a_username_and_several_kinds_need_a_choice() {
        let auth = [AuthKind::Basic, AuthKind::Bearer];
        let Err(ambiguous) = credential_source(flags(None, None), "x", &auth, &b"s\n"[..]) else {
            panic!("two kinds need --connection-kind");
        };
        assert!(ambiguous.message.contains("--connection-kind"));
        let Err(no_user) = credential_source(
            flags(Some(CredentialKind::Basic), None),
            "x",
            &auth,
            &b"s\n"[..],
        ) else {
            panic!("basic needs a user name");
        };
        assert!(no_user.message.contains("--connection-username"));
        let ok = credential_source(
            flags(Some(CredentialKind::Basic), Some("ada")),
            "x",
            &auth,
            &b"s\n"[..],
        );
        assert!(matches!(ok, Ok(Some(_))));
    }
}
