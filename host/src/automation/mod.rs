//! Automations: the JSON document users write ([`document`]), field
//! mapping with references and formulas ([`template`], [`formula`]), and
//! validation into an executable [`plan::Plan`].

pub mod bounds;
pub mod document;
pub mod formula;
pub mod ident;
pub mod nesting;
pub mod plan;
pub mod schedule;
pub mod template;

pub use document::Automation;
pub use plan::{Catalog, Plan, ValidationError, ValidationErrors};
