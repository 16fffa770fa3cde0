//! Link-layer addresses.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An IEEE 802 MAC address, shown as lowercase colon-separated hex (`00:1b:1b:02:e6:1f`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// True for group (multicast and broadcast) addresses.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        self.0 == [0xff; 6]
    }

    /// True for locally administered addresses (randomised or assigned by software).
    pub fn is_local(&self) -> bool {
        self.0[0] & 2 == 2
    }

    /// True for the all-zero address.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error for a string that is not six colon- or dash-separated hex octets.
#[derive(Debug, thiserror::Error)]
#[error("not a MAC address: {0:?}")]
pub struct MacParseError(String);

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for b in out.iter_mut() {
            let p = parts.next().ok_or_else(|| MacParseError(s.into()))?;
            if p.len() != 2 {
                return Err(MacParseError(s.into()));
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| MacParseError(s.into()))?;
        }
        if parts.next().is_some() {
            return Err(MacParseError(s.into()));
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let m: MacAddr = "00:1B:1b:02:e6:1f".parse().unwrap();
        assert_eq!(m.to_string(), "00:1b:1b:02:e6:1f");
        assert!("00:1b:1b:02:e6".parse::<MacAddr>().is_err());
        assert!("00:1b:1b:02:e6:1f:00".parse::<MacAddr>().is_err());
        assert!("zz:1b:1b:02:e6:1f".parse::<MacAddr>().is_err());
        assert!("ff:ff:ff:ff:ff:ff".parse::<MacAddr>().unwrap().is_broadcast());
    }
}
