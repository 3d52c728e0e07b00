//! The Warden operator: an EigenLayer operator that restakes, registers its BLS12-381 key with
//! Warden's operator set, and (from the honest-path release on) runs the agent and signs its
//! actions.

pub mod keys;
pub mod node;
pub mod registration;

pub use keys::{KeyError, OperatorKeys};
pub use registration::{Registrar, RegistrationError, RegistrationTargets};
