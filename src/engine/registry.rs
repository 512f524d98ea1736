//! Every algorithm the engine can run, in the order of [`Algorithm::ALL`]. A new
//! separator is a file (its `Separator`, settings and `ENTRY`) and a line here.

use super::separator::{Entry, Stems};
use super::settings::Algorithm;
use super::{ft2d, hpss, nmf_filter, repet, repet_sim, stems};

pub const SEPARATORS: [Entry; 6] = [
    hpss::ENTRY,
    repet::ENTRY,
    repet_sim::ENTRY,
    ft2d::ENTRY,
    nmf_filter::ENTRY,
    stems::ENTRY,
];

/// The algorithms' stable ids, in registry order (the plugin's list parameter).
pub const IDS: [&str; SEPARATORS.len()] = {
    let mut ids = [""; SEPARATORS.len()];
    let mut i = 0;
    while i < ids.len() {
        ids[i] = SEPARATORS[i].id;
        i += 1;
    }
    ids
};

/// The algorithms' names, in registry order.
pub const NAMES: [&str; SEPARATORS.len()] = {
    let mut names = [""; SEPARATORS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = SEPARATORS[i].name;
        i += 1;
    }
    names
};

/// What the registry says of each algorithm.
impl Algorithm {
    /// The name shown to users and accepted by `--algorithm` (case-insensitive).
    pub fn name(self) -> &'static str {
        entry(self).name
    }

    /// Stem names in output order, as file names take them (the settings may leave the
    /// last silent: see [`super::Settings::stem_count`]).
    pub fn stem_names(self) -> &'static [&'static str] {
        self.stems().files
    }

    /// The stems' names, for files and for people.
    pub fn stems(self) -> Stems {
        entry(self).stems
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// The registry's entry for `algorithm`.
pub fn entry(algorithm: Algorithm) -> &'static Entry {
    &SEPARATORS[algorithm as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_lists_every_algorithm_once_in_order() {
        assert_eq!(SEPARATORS.len(), Algorithm::ALL.len());
        for (entry, algorithm) in SEPARATORS.iter().zip(Algorithm::ALL) {
            assert_eq!(entry.algorithm, algorithm, "{}", entry.name);
        }
        for (i, id) in IDS.iter().enumerate() {
            assert!(!IDS[..i].contains(id), "{id} twice");
        }
    }
}
