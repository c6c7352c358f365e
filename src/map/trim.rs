//! What a verify expects of a trimmed (discarded) block: [`TrimCheck`].
//!
//! A trim through the fio engine (`rw=trim`, `randtrim`, `trimwrite` on a block device) marks
//! its blocks trimmed in the map ([`super::BlockMap::trim`]). What they read back as afterwards
//! depends on the device: NVMe namespaces that report "deterministic read zeros after
//! deallocate", SCSI disks with LBPRZ, a loop device over a file system that punches holes and
//! a thin volume all return zeros; other devices return the old data or anything at all.

use std::fmt;
use std::str::FromStr;

/// What a verify expects of a trimmed block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrimCheck {
    /// Every byte reads as zero (the default: the strict check; a device that keeps old data
    /// after a discard fails it, naming the block).
    #[default]
    Zeros,
    /// Not checked: any bytes pass, and the report says how many blocks were skipped.
    Skip,
}

impl TrimCheck {
    /// The option value (`zeros` or `skip`).
    pub fn as_str(self) -> &'static str {
        match self {
            TrimCheck::Zeros => "zeros",
            TrimCheck::Skip => "skip",
        }
    }

    /// One line for a verify's report about `trimmed` blocks (empty when there are none).
    pub fn report(self, trimmed: u64) -> String {
        match (trimmed, self) {
            (0, _) => String::new(),
            (n, TrimCheck::Zeros) => format!("{n} trimmed blocks checked to read as zeros"),
            (n, TrimCheck::Skip) => {
                format!("{n} trimmed blocks skipped (not verified: trimmed=skip)")
            }
        }
    }
}

impl fmt::Display for TrimCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrimCheck {
    type Err = String;
    /// `zeros` or `skip`; the error gives the reason only (the caller names the argument).
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "zeros" => Ok(TrimCheck::Zeros),
            "skip" => Ok(TrimCheck::Skip),
            _ => Err(
                "not one of zeros (trimmed blocks must read as zeros), skip (trimmed blocks are \
                 not checked)"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports() {
        assert_eq!("zeros".parse(), Ok(TrimCheck::Zeros));
        assert_eq!("skip".parse(), Ok(TrimCheck::Skip));
        assert!("zero"
            .parse::<TrimCheck>()
            .unwrap_err()
            .contains("not one of"));
        assert_eq!(TrimCheck::Zeros.report(0), "");
        assert!(TrimCheck::Skip
            .report(3)
            .contains("3 trimmed blocks skipped"));
    }
}
