//! [`ConnectorSet`]: the loaded connectors of an engine, every installed
//! version of each side by side, and how a connector block's version
//! requirement picks one.
//!
//! A block that names no version runs the newest installed one; a block
//! may pin an exact version (`"1.2.0"`, as npm reads a bare version) or a
//! semver range (`"^1"`, `"~1.2"`, `">=1.1, <2"`). The set is immutable:
//! [`crate::Weft`] swaps in a changed copy (installing, removing or
//! re-granting a connector), so a run holds a consistent snapshot while the
//! next invocation sees the change.

use crate::automation::plan::Catalog;
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::outbound_http::allow_list::PatternError;
use crate::runtime::Connector;
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use thiserror::Error;

/// Why a connector could not join or leave a set.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConnectorSetError {
    #[error("connector {id:?} version {version} is installed already")]
    VersionExists { id: String, version: String },
    #[error("connector {id:?} has no version {version}")]
    NoSuchVersion { id: String, version: String },
    #[error("connector {id:?} declares version {version:?}, which is not a semantic version")]
    BadVersion { id: String, version: String },
}

/// Which versions of a connector a block accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionPin {
    /// As the user wrote it, for messages.
    text: String,
    req: VersionReq,
}

impl VersionPin {
    /// Parse a block's `version`: a full version pins exactly, anything
    /// else is a semver range.
    pub fn parse(text: &str) -> Result<VersionPin, semver::Error> {
        let req = match Version::parse(text.trim()) {
            Ok(exact) => VersionReq {
                comparators: vec![semver::Comparator {
                    op: semver::Op::Exact,
                    major: exact.major,
                    minor: Some(exact.minor),
                    patch: Some(exact.patch),
                    pre: exact.pre,
                }],
            },
            Err(_) => VersionReq::parse(text.trim())?,
        };
        Ok(VersionPin {
            text: text.trim().to_string(),
            req,
        })
    }

    pub fn matches(&self, version: &Version) -> bool {
        self.req.matches(version)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for VersionPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Connectors by id, and per id by version (ascending).
#[derive(Clone, Default)]
pub struct ConnectorSet {
    by_id: BTreeMap<String, BTreeMap<Version, Connector>>,
}

impl ConnectorSet {
    pub fn new() -> Self {
        ConnectorSet::default()
    }

    /// Add a connector; an id@version already present is refused.
    pub fn insert(&mut self, connector: Connector) -> Result<(), ConnectorSetError> {
        let manifest = connector.manifest();
        let version = parse_version(manifest)?;
        let versions = self.by_id.entry(manifest.id.clone()).or_default();
        if versions.contains_key(&version) {
            return Err(ConnectorSetError::VersionExists {
                id: manifest.id.clone(),
                version: version.to_string(),
            });
        }
        versions.insert(version, connector);
        Ok(())
    }

    /// Add a connector, replacing the same id@version if present.
    pub fn replace(&mut self, connector: Connector) -> Result<(), ConnectorSetError> {
        let manifest = connector.manifest();
        let version = parse_version(manifest)?;
        self.by_id
            .entry(manifest.id.clone())
            .or_default()
            .insert(version, connector);
        Ok(())
    }

    /// Take one version out; the id disappears with its last version.
    pub fn remove(&mut self, id: &str, version: &Version) -> Result<Connector, ConnectorSetError> {
        let missing = || ConnectorSetError::NoSuchVersion {
            id: id.to_string(),
            version: version.to_string(),
        };
        let versions = self.by_id.get_mut(id).ok_or_else(missing)?;
        let removed = versions.remove(version).ok_or_else(missing)?;
        if versions.is_empty() {
            self.by_id.remove(id);
        }
        Ok(removed)
    }

    /// The newest installed version of `id`.
    pub fn newest(&self, id: &str) -> Option<&Connector> {
        self.by_id
            .get(id)
            .and_then(|v| v.last_key_value())
            .map(|(_, c)| c)
    }

    /// The version a block with this pin runs: the newest that matches
    /// (the newest of all without a pin).
    pub fn resolve(&self, id: &str, pin: Option<&VersionPin>) -> Option<&Connector> {
        let versions = self.by_id.get(id)?;
        match pin {
            None => versions.last_key_value().map(|(_, c)| c),
            Some(pin) => versions
                .iter()
                .rev()
                .find(|(v, _)| pin.matches(v))
                .map(|(_, c)| c),
        }
    }

    /// One exact version.
    pub fn get(&self, id: &str, version: &Version) -> Option<&Connector> {
        self.by_id.get(id).and_then(|v| v.get(version))
    }

    /// Every version of `id`, oldest first.
    pub fn versions(&self, id: &str) -> impl DoubleEndedIterator<Item = &Connector> {
        self.by_id.get(id).into_iter().flat_map(|v| v.values())
    }

    /// The ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    /// Every connector, every version, by id then version.
    pub fn iter(&self) -> impl Iterator<Item = &Connector> {
        self.by_id.values().flat_map(|v| v.values())
    }

    /// The newest version of each connector, by id.
    pub fn newest_each(&self) -> impl Iterator<Item = &Connector> {
        self.by_id
            .values()
            .filter_map(|v| v.last_key_value().map(|(_, c)| c))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Reconfigure every version of `id` (a new grant or limits), keeping
    /// the compiled code. Returns false when no such connector is loaded.
    pub fn update<E>(
        &mut self,
        id: &str,
        mut change: impl FnMut(&Connector) -> Result<Connector, E>,
    ) -> Result<bool, E> {
        let Some(versions) = self.by_id.get_mut(id) else {
            return Ok(false);
        };
        for connector in versions.values_mut() {
            *connector = change(connector)?;
        }
        Ok(true)
    }
}

fn parse_version(manifest: &Manifest) -> Result<Version, ConnectorSetError> {
    Version::parse(&manifest.version).map_err(|_| ConnectorSetError::BadVersion {
        id: manifest.id.clone(),
        version: manifest.version.clone(),
    })
}

impl Catalog for ConnectorSet {
    fn manifest(&self, connector: &str, pin: Option<&VersionPin>) -> Option<&Manifest> {
        self.resolve(connector, pin).map(Connector::manifest)
    }
    fn versions_of(&self, connector: &str) -> Vec<String> {
        self.versions(connector)
            .map(|c| c.manifest().version.clone())
            .collect()
    }
    fn connector_ids(&self) -> Vec<String> {
        self.ids().map(str::to_string).collect()
    }
}

/// What an operator sets for one connector, for every version of it: the
/// outbound hosts it may reach (allow-list entries, `scheme://host[:port]`)
/// and its sandbox limits (`None`: the runtime's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorPolicy {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

impl ConnectorPolicy {
    /// `connector` reconfigured with this policy (same compiled code).
    pub fn apply(&self, connector: &Connector) -> Result<Connector, PatternError> {
        Ok(connector
            .with_grant(&self.allow)?
            .with_connector_limits(self.limits.clone()))
    }
}

/// The connector set as it changes at run time: readers take a snapshot
/// (an `Arc`, never blocking on an install), writers build a changed copy
/// and swap it in. Policies are kept per id, also for connectors not (yet)
/// installed, and applied to every version installed later.
#[derive(Default)]
pub struct SharedConnectors {
    state: RwLock<Shared>,
}

#[derive(Default)]
struct Shared {
    set: Arc<ConnectorSet>,
    policies: HashMap<String, ConnectorPolicy>,
}

impl SharedConnectors {
    pub fn new(set: ConnectorSet, policies: HashMap<String, ConnectorPolicy>) -> Self {
        SharedConnectors {
            state: RwLock::new(Shared {
                set: Arc::new(set),
                policies,
            }),
        }
    }

    /// The set as it is now; later changes do not affect it.
    pub fn snapshot(&self) -> Arc<ConnectorSet> {
        self.read().set.clone()
    }

    /// The policy for `id` (the default: nothing granted, default limits).
    pub fn policy(&self, id: &str) -> ConnectorPolicy {
        self.read().policies.get(id).cloned().unwrap_or_default()
    }

    /// Add a connector version, configured by its id's policy; returns it
    /// as installed.
    pub fn install(&self, connector: Connector) -> Result<Connector, InstallError> {
        let mut state = self.write();
        let id = connector.manifest().id.clone();
        let policy = state.policies.get(&id).cloned().unwrap_or_default();
        let configured = policy.apply(&connector).map_err(InstallError::Grant)?;
        let mut set = (*state.set).clone();
        set.insert(configured.clone()).map_err(InstallError::Set)?;
        state.set = Arc::new(set);
        Ok(configured)
    }

    /// Remove one version.
    pub fn remove(&self, id: &str, version: &Version) -> Result<Connector, ConnectorSetError> {
        let mut state = self.write();
        let mut set = (*state.set).clone();
        let removed = set.remove(id, version)?;
        state.set = Arc::new(set);
        Ok(removed)
    }

    /// Replace `id`'s policy and reconfigure its installed versions; the
    /// next invocation uses it. Nothing changes if an entry does not parse.
    pub fn set_policy(&self, id: &str, policy: ConnectorPolicy) -> Result<(), PatternError> {
        let mut state = self.write();
        let mut set = (*state.set).clone();
        set.update(id, |c| policy.apply(c))?;
        state.set = Arc::new(set);
        state.policies.insert(id.to_string(), policy);
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Shared> {
        // A panic while holding the lock cannot leave `Shared` half
        // changed (every change is one assignment), so a poisoned lock is
        // still good to use.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Shared> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why [`SharedConnectors::install`] refused a connector.
#[derive(Debug, Error)]
pub enum InstallError {
    #[error(transparent)]
    Set(ConnectorSetError),
    #[error("the connector's grant does not parse: {0}")]
    Grant(PatternError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_version_pins_exactly_and_a_range_matches_many() {
        let exact = VersionPin::parse("1.2.0").expect("parses");
        assert!(exact.matches(&Version::new(1, 2, 0)));
        assert!(!exact.matches(&Version::new(1, 2, 1)));
        let caret = VersionPin::parse("^1.2").expect("parses");
        assert!(caret.matches(&Version::new(1, 9, 0)));
        assert!(!caret.matches(&Version::new(2, 0, 0)));
        let range = VersionPin::parse(">=1.1, <2").expect("parses");
        assert!(range.matches(&Version::new(1, 1, 0)));
        assert!(!range.matches(&Version::new(1, 0, 9)));
        assert!(VersionPin::parse("one").is_err());
    }
}
