//! What Warden's tests share, so that no test crate keeps its own copy: Warden binaries as child
//! processes (and the crash tests that kill them), free loopback ports, the pinned anvil,
//! waiting on a condition with a timeout instead of sleeping, the operations endpoints a service
//! serves, and reading back what an account sent on chain and the events a contract emitted.
//!
//! It depends on no Warden crate: any crate, `warden-runtime` included, can dev-depend on it
//! without building the services.

pub mod anvil;
pub mod binaries;
pub mod crash;
pub mod events;
pub mod inspect;
pub mod ops;
pub mod ports;
pub mod process;
pub mod wait;

pub use anvil::default_anvil_path;
pub use binaries::workspace_binary;
pub use crash::{ConfigFile, ServiceBinary};
pub use events::only_event;
pub use ports::free_port;
pub use process::{ProcessError, ServiceProcess};
pub use wait::{TimedOut, wait_for, wait_until};
