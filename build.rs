//! Templates, static files, messages and migrations are embedded at compile time by macros
//! (rust-embed, fluent-templates, diesel_migrations). Those macros track the files they read but
//! not new files appearing in their folders; watching the folders makes cargo rebuild then too.
fn main() {
    for dir in ["templates", "static", "locales", "migrations"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
