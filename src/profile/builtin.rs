//! The profiles built into the binary, measured on a Debian machine by `scripts/make-profiles`
//! (see the README, "Profiles"): `--profile text` works anywhere.

/// The built-in profiles' names.
pub const NAMES: [&str; 4] = ["text", "executables", "database", "compressed"];

/// The JSON text of built-in profile `name`.
pub fn get(name: &str) -> Option<&'static str> {
    Some(match name {
        "text" => include_str!("../../profiles/text.json"),
        "executables" => include_str!("../../profiles/executables.json"),
        "database" => include_str!("../../profiles/database.json"),
        "compressed" => include_str!("../../profiles/compressed.json"),
        _ => return None,
    })
}
