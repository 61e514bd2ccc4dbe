//! End-to-end tests of the `cs-report` binary: one test binary, one module
//! per feature, and the helpers they share.

mod browser;
mod charts;
mod email;
mod hostile;
mod incremental;
mod inputs;
mod outputs;
mod owners;
mod periods;
mod queries;
mod recipes;
mod restated;
mod revenue;
mod signals;
mod spark;
mod staging;
mod stripe_history;
mod support;
mod unattended;
