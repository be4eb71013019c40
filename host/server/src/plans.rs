//! Validated plans of stored automations, cached: a trigger on the hot
//! path reuses the plan validated for the automation's current version
//! instead of validating the document again.

use crate::automations::StoredAutomation;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use weft_host::Weft;
use weft_host::automation::Plan;

/// A stored automation that no longer validates (a connector it uses was
/// removed, changed or lost its grant since it was saved).
#[derive(Debug, thiserror::Error)]
#[error(
    "the stored automation {automation:?} no longer validates (a connector changed?): {errors}"
)]
pub struct PlanError {
    pub automation: String,
    pub errors: String,
}

/// Plans by automation id, each valid for one stored automation
/// (creation time, version and owner: an id deleted and created again,
/// by anyone, starts over at version 1 and must not get the old plan) and
/// one state of the connectors (their generation).
pub struct PlanCache {
    weft: Weft,
    plans: RwLock<HashMap<String, (PlanKey, Arc<Plan>)>>,
}

impl PlanCache {
    pub fn new(weft: Weft) -> Self {
        PlanCache {
            weft,
            plans: RwLock::new(HashMap::new()),
        }
    }

    /// The plan for the stored automation, validated once per version.
    pub fn plan(&self, a: &StoredAutomation) -> Result<Arc<Plan>, PlanError> {
        // Read before validating: a connector change during validation
        // then makes this plan's key stale at once.
        let generation = self.weft.connectors_generation();
        if let Ok(plans) = self.plans.read()
            && let Some((cached, plan)) = plans.get(&a.id)
            && cached.matches(a, generation)
        {
            return Ok(plan.clone());
        }
        // Runs record the stored version, which the server keeps beside
        // the document rather than in it.
        let mut document = a.document.clone();
        document["version"] = serde_json::Value::from(a.version);
        let plan = Arc::new(self.weft.validate(&document).map_err(|errors| PlanError {
            automation: a.id.clone(),
            errors: errors.to_string(),
        })?);
        if let Ok(mut plans) = self.plans.write() {
            plans.insert(a.id.clone(), (PlanKey::of(a, generation), plan.clone()));
        }
        Ok(plan)
    }

    /// Forget a deleted automation's plan.
    pub fn forget(&self, id: &str) {
        if let Ok(mut plans) = self.plans.write() {
            plans.remove(id);
        }
    }
}

/// What a cached plan is valid for: one stored version of the automation,
/// validated against one state of the installed connectors.
struct PlanKey {
    created_at: i64,
    version: u64,
    owner: String,
    /// [`Weft::connectors_generation`] when validation began.
    connectors: u64,
}

impl PlanKey {
    /// Compared field by field: the hot path allocates nothing.
    fn matches(&self, a: &StoredAutomation, connectors: u64) -> bool {
        self.created_at == a.created_at
            && self.version == a.version
            && self.owner == a.owner
            && self.connectors == connectors
    }

    fn of(a: &StoredAutomation, connectors: u64) -> Self {
        PlanKey {
            created_at: a.created_at,
            version: a.version,
            owner: a.owner.clone(),
            connectors,
        }
    }
}
