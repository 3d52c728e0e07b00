//! The Warden operator: an EigenLayer operator that restakes, registers its BLS12-381 key with
//! Warden's operator set, runs the agent on every task and signs its actions, never signing two
//! outputs for one task.

pub mod cli;
pub mod config;
pub mod delivery;
pub mod launch;
pub mod node;
pub mod registration;
pub mod slashing_protection;
pub mod status;

pub use registration::{
    Exit, RegisterOptions, Registered, Registrar, RegistrationError, RegistrationTargets,
};
