//! 二代证 (resident ID card) readers, tauri-free: one [`IdReader`] interface and its
//! implementations.
//!
//! - [`SerialReader`]: the standard reader protocol (GA 467 SAM frames, [`frame`]) over
//!   USB-serial;
//! - [`HttpReader`]: the local HTTP service a reader vendor installs beside its driver;
//! - [`wedge`]: what a keyboard-wedge reader types (a number and Enter);
//! - [`Simulator`] (unix): a pseudo-terminal that answers the same frames as a real SAM, for
//!   tests and the demo.
//!
//! The card's photo is vendor-encoded and not decoded here.

mod card;
mod error;
pub mod frame;
mod http;
pub mod nation;
mod serial;
#[cfg(unix)]
mod simulator;
pub mod wedge;

pub use card::{CardRead, CardText, TEXT_LEN, ValidTo, test_person};
pub use error::ReadError;
pub use http::{FieldMap, HttpConfig, HttpReader};
pub use serial::{SerialConfig, SerialReader};
#[cfg(unix)]
pub use simulator::{Behaviour, Simulator, answer};

/// A reader of 二代证. Blocking: one call finds, selects and reads the card on the reader.
pub trait IdReader {
    fn read(&mut self) -> Result<CardRead, ReadError>;
}
