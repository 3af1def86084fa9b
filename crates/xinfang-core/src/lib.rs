//! Domain types and rules of the petition reception hall (信访接待大厅).
//!
//! Pure: no I/O, no clock. Callers pass "today" or "now" in, so every rule is testable
//! ([`clock`] defines the clock those callers hold; nothing here reads it).
//! Rules that are facts (regions, categories, legal routes, holidays) live as data in `assets/`
//! and are compiled in, so the core needs no files at run time.

pub mod account;
pub mod backlog;
pub mod calendar;
pub mod classify;
pub mod clock;
pub mod date;
pub mod deadline;
pub mod desk;
pub mod due;
pub mod error;
pub mod hall;
pub mod id;
pub mod kept_days;
pub mod matter;
pub mod mediation;
pub mod notice;
pub mod numbering;
pub mod people;
pub mod phone;
pub mod photo;
pub mod queue;
pub mod reference;
pub mod regions;
pub mod staff;
pub mod stats;
pub mod tally;
pub mod visit;

pub use error::{FieldError, ValidationErrors};
