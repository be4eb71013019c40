//! [`ConnectorSet`]: the loaded connectors of an engine, every installed
//! version of each side by side, and how a connector block's version
//! requirement picks one.
//!
//! A block that names no version runs the newest installed release (a
//! pre-release only when nothing else is installed); a block may pin an
//! exact version (`"1.2.0"`, as npm reads a bare version) or a semver range
//! (`"^1"`, `"~1.2"`, `">=1.1, <2"`). Build metadata (`1.0.0+abc`) is
//! refused in versions and pins: semver gives it no order, so two installs
//! differing only in it could not be told apart.
//!
//! The set is immutable: [`SharedConnectors`] swaps in a changed copy
//! (installing, removing or re-granting a connector) and counts the swaps
//! ([`SharedConnectors::generation`]), so caches of what was validated
//! against one set know when it is stale. A run resolves each block's
//! version from the set as it was when the run started and keeps it to the
//! end (see the walker); grants and limits changed meanwhile apply from the
//! run's next invocation.

use crate::automation::plan::Catalog;
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::outbound_http::allow_list::PatternError;
use crate::runtime::Connector;
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use thiserror::Error;

/// Why a connector could not join or leave a set.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConnectorSetError {
    #[error("connector {id:?} version {version} is installed already")]
    VersionExists { id: String, version: String },
    #[error("connector {id:?} has no version {version}")]
    NoSuchVersion { id: String, version: String },
    #[error(
        "connector {id:?} declares version {version:?}, which is not a semantic version without build metadata (e.g. 1.2.0 or 1.2.0-beta.1)"
    )]
    BadVersion { id: String, version: String },
}

/// Why a block's `version` is not a pin.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PinError {
    #[error("{0}")]
    Syntax(String),
    #[error(
        "build metadata (`+…`) cannot be pinned: semver gives it no order; pin the version without it"
    )]
    BuildMetadata,
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
    pub fn parse(text: &str) -> Result<VersionPin, PinError> {
        if text.contains('+') {
            return Err(PinError::BuildMetadata);
        }
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
            Err(_) => {
                VersionReq::parse(text.trim()).map_err(|e| PinError::Syntax(e.to_string()))?
            }
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

    /// The version a block with this pin runs: see [`pick`].
    pub fn resolve(&self, id: &str, pin: Option<&VersionPin>) -> Option<&Connector> {
        let versions = self.by_id.get(id)?;
        pick(versions.keys(), pin).and_then(|v| versions.get(v))
    }

    /// The installed versions of `id`, oldest first.
    pub fn version_numbers(&self, id: &str) -> impl DoubleEndedIterator<Item = &Version> + Clone {
        self.by_id.get(id).into_iter().flat_map(|v| v.keys())
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

/// Which of `versions` (ascending) a block with `pin` runs: the newest
/// that matches the pin; without one, the newest release, or the newest
/// pre-release when only pre-releases are installed (as cargo and npm
/// treat `*`). Ranges match pre-releases only when they name one, as
/// semver ranges do.
pub fn pick<'v>(
    versions: impl DoubleEndedIterator<Item = &'v Version> + Clone,
    pin: Option<&VersionPin>,
) -> Option<&'v Version> {
    match pin {
        None => versions
            .clone()
            .rev()
            .find(|v| v.pre.is_empty())
            .or_else(|| versions.last()),
        Some(pin) => versions.rev().find(|v| pin.matches(v)),
    }
}

fn parse_version(manifest: &Manifest) -> Result<Version, ConnectorSetError> {
    Version::parse(&manifest.version)
        .ok()
        .filter(|v| v.build.is_empty())
        .ok_or_else(|| ConnectorSetError::BadVersion {
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
    /// Check the allow-list entries parse, without a connector to apply
    /// them to (a policy may be stored before any version is installed).
    pub fn check(&self) -> Result<(), PatternError> {
        crate::outbound_http::allow_list::AllowList::parse(&self.allow).map(drop)
    }

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
    /// Bumped with every swap, while the write lock is held.
    generation: AtomicU64,
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
            generation: AtomicU64::new(0),
        }
    }

    /// How many times the set or a policy changed. Read it *before* using
    /// a snapshot for something cached: if it differs later, the cache may
    /// hold what an older set allowed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn swap(&self, state: &mut Shared, set: ConnectorSet) {
        state.set = Arc::new(set);
        self.generation.fetch_add(1, Ordering::AcqRel);
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
        self.swap(&mut state, set);
        Ok(configured)
    }

    /// Remove one version.
    pub fn remove(&self, id: &str, version: &Version) -> Result<Connector, ConnectorSetError> {
        let mut state = self.write();
        let mut set = (*state.set).clone();
        let removed = set.remove(id, version)?;
        self.swap(&mut state, set);
        Ok(removed)
    }

    /// Replace `id`'s policy and reconfigure its installed versions; the
    /// next invocation uses it. Nothing changes if an entry does not parse
    /// (checked also when no version of `id` is installed yet).
    pub fn set_policy(&self, id: &str, policy: ConnectorPolicy) -> Result<(), PatternError> {
        policy.check()?;
        let mut state = self.write();
        let mut set = (*state.set).clone();
        set.update(id, |c| policy.apply(c))?;
        self.swap(&mut state, set);
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
        assert_eq!(
            VersionPin::parse("1.0.0+build.5"),
            Err(PinError::BuildMetadata)
        );
    }

    #[test]
    fn unpinned_blocks_prefer_the_newest_release_over_a_newer_pre_release() {
        let v = |t: &str| Version::parse(t).expect("version");
        let installed = [v("1.0.0"), v("1.1.0"), v("2.0.0-beta.1")];
        assert_eq!(pick(installed.iter(), None), Some(&v("1.1.0")));
        let only_pre = [v("2.0.0-alpha.1"), v("2.0.0-beta.1")];
        assert_eq!(pick(only_pre.iter(), None), Some(&v("2.0.0-beta.1")));
        let caret = VersionPin::parse("^1").expect("parses");
        assert_eq!(pick(installed.iter(), Some(&caret)), Some(&v("1.1.0")));
        let pre = VersionPin::parse("2.0.0-beta.1").expect("parses");
        assert_eq!(pick(installed.iter(), Some(&pre)), Some(&v("2.0.0-beta.1")));
        assert_eq!(pick([].iter(), None), None);
    }

    #[test]
    fn a_policy_is_checked_even_for_a_connector_not_installed() {
        let shared = SharedConnectors::default();
        let bad = ConnectorPolicy {
            allow: vec!["not a url at all".into()],
            limits: None,
        };
        assert!(shared.set_policy("absent", bad).is_err());
        assert_eq!(shared.policy("absent"), ConnectorPolicy::default());
        assert_eq!(shared.generation(), 0);
        let good = ConnectorPolicy {
            allow: vec!["https://api.example.com".into()],
            limits: None,
        };
        assert!(shared.set_policy("absent", good.clone()).is_ok());
        assert_eq!(shared.policy("absent"), good);
        assert_eq!(shared.generation(), 1);
    }
}
