//! The simulated SIM's message memory: a fixed number of slots holding PDUs with their
//! `<stat>`, addressed by 1-based indexes like the "SM" memory of SIMCom and Quectel modems.
//! Pure data; the engine decides what to announce.

/// `<stat>` of a stored message in PDU mode (TS 27.005 3.1). The network only ever stores
/// unread messages here; the outgoing stats exist because `AT+CMGL` filters and `AT+CMGD`
/// flags are defined over the whole set.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Unread = 0,
    Read = 1,
    Unsent = 2,
    Sent = 3,
}

impl Stat {
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub stat: Stat,
    /// Full PDU hex including the SMSC field, as `+CMGR` prints it.
    pub pdu: String,
}

/// An index outside `1..=capacity` (the modem answers `+CMS ERROR: 321`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid memory index {0}")]
pub struct BadIndex(pub usize);

#[derive(Debug, Clone)]
pub struct Storage {
    slots: Vec<Option<Slot>>,
}

impl Storage {
    pub fn new(capacity: usize) -> Storage {
        Storage {
            slots: vec![None; capacity],
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_full(&self) -> bool {
        self.slots.iter().all(|s| s.is_some())
    }

    /// Puts a PDU in the lowest free slot, as SIMs do; `None` when full.
    pub fn store(&mut self, pdu: String, stat: Stat) -> Option<usize> {
        let free = self.slots.iter().position(|s| s.is_none())?;
        self.slots[free] = Some(Slot { stat, pdu });
        Some(free + 1)
    }

    fn slot_mut(&mut self, index: usize) -> Result<&mut Option<Slot>, BadIndex> {
        index
            .checked_sub(1)
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(BadIndex(index))
    }

    /// Reads a slot the way `AT+CMGR` does: returns it with the stat it had and marks an
    /// unread message read.
    pub fn read(&mut self, index: usize) -> Result<Option<Slot>, BadIndex> {
        let slot = self.slot_mut(index)?;
        let before = slot.clone();
        if let Some(s) = slot.as_mut() {
            if s.stat == Stat::Unread {
                s.stat = Stat::Read;
            }
        }
        Ok(before)
    }

    /// Lists the way `AT+CMGL=<stat>` does (4 = all); listed unread messages become read.
    pub fn list(&mut self, filter: u8) -> Vec<(usize, Slot)> {
        let mut out = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(s) = slot.as_mut() {
                if filter == 4 || s.stat.code() == filter {
                    out.push((i + 1, s.clone()));
                    if s.stat == Stat::Unread {
                        s.stat = Stat::Read;
                    }
                }
            }
        }
        out
    }

    /// Empties one slot; deleting an empty slot is not an error (SIM800 and EC2x answer OK).
    pub fn delete(&mut self, index: usize) -> Result<bool, BadIndex> {
        Ok(self.slot_mut(index)?.take().is_some())
    }

    /// `AT+CMGD=<i>,<delflag>` with a flag of 1..=4: 1 read, 2 read+sent, 3 read+sent+unsent,
    /// 4 everything. Returns how many were deleted.
    pub fn delete_by_flag(&mut self, flag: u8) -> usize {
        let doomed = |stat: Stat| match flag {
            1 => stat == Stat::Read,
            2 => matches!(stat, Stat::Read | Stat::Sent),
            3 => stat != Stat::Unread,
            4 => true,
            _ => false,
        };
        let mut n = 0;
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| doomed(s.stat)) {
                *slot = None;
                n += 1;
            }
        }
        n
    }
}

/// The `<length>` that `+CMGR`/`+CMGL`/`+CMT`/`+CDS` print: TPDU octets, i.e. the PDU without
/// its SMSC field. Malformed hex (tests store arbitrary PDUs) gives a best-effort count
/// instead of an error, because a real modem prints whatever it holds.
pub fn tpdu_len(pdu_hex: &str) -> usize {
    let octets = pdu_hex.len() / 2;
    let smsc = pdu_hex
        .get(0..2)
        .and_then(|h| u8::from_str_radix(h, 16).ok())
        .map_or(0, usize::from);
    octets.saturating_sub(1 + smsc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_in_lowest_free_slot_and_reports_full() {
        let mut s = Storage::new(2);
        assert_eq!(s.store("00".into(), Stat::Unread), Some(1));
        assert_eq!(s.store("01".into(), Stat::Unread), Some(2));
        assert!(s.is_full());
        assert_eq!(s.store("02".into(), Stat::Unread), None);
        assert_eq!(s.delete(1), Ok(true));
        assert_eq!(s.store("03".into(), Stat::Unread), Some(1));
        assert_eq!(s.used(), 2);
    }

    #[test]
    fn read_returns_old_stat_then_marks_read() {
        let mut s = Storage::new(3);
        s.store("AA".into(), Stat::Unread);
        assert_eq!(s.read(1).map(|o| o.map(|x| x.stat)), Ok(Some(Stat::Unread)));
        assert_eq!(s.read(1).map(|o| o.map(|x| x.stat)), Ok(Some(Stat::Read)));
        assert_eq!(s.read(2), Ok(None));
        assert_eq!(s.read(0), Err(BadIndex(0)));
        assert_eq!(s.read(4), Err(BadIndex(4)));
    }

    #[test]
    fn list_filters_and_delete_flags() {
        let mut s = Storage::new(5);
        s.store("A".into(), Stat::Unread);
        s.store("B".into(), Stat::Sent);
        s.store("C".into(), Stat::Unsent);
        assert_eq!(s.list(0).len(), 1);
        assert_eq!(s.list(0).len(), 0, "listing unread marks them read");
        assert_eq!(s.list(4).len(), 3);
        assert_eq!(s.delete_by_flag(2), 2);
        assert_eq!(s.list(4)[0].1.pdu, "C");
        assert_eq!(s.delete_by_flag(4), 1);
        assert_eq!(s.used(), 0);
    }

    #[test]
    fn tpdu_len_excludes_smsc_field() {
        assert_eq!(
            tpdu_len("07918497483252F0040B918496445078F700007121320144744004D4F29C0E"),
            23
        );
        assert_eq!(
            tpdu_len("0011000B916407281553F80000AA0AE8329BFD4697D9EC37"),
            23
        );
        assert_eq!(tpdu_len("zz"), 0);
        assert_eq!(tpdu_len(""), 0);
    }
}
