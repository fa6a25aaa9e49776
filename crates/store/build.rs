//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! `migrations/` directories at compile time, and cargo does not see files it did not compile.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
