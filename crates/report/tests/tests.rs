//! Reports from fixed results: snapshots of every export, the verdict rule,
//! spread over repeats, and which runs are picked.

mod util;

mod baseline;
mod diagnoses;
mod gate;
mod history;
mod html;
mod references;
mod render;
mod scaling;
mod select;
mod users;
mod verdicts;
