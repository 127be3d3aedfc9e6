//! TP-UD with its optional user data header (TS 23.040 9.2.3.24): the header's information
//! elements we act on (concatenation 0x00/0x08, application ports 0x04/0x05; others are
//! skipped) and the body, borrowed from the PDU and decoded to text only on request.

use super::{gsm7, ucs2, Concat, Encoding, PduError};

/// Application port addressing (IEI 0x04: 8-bit ports, IEI 0x05: 16-bit ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub dst: u16,
    pub src: u16,
    pub bits: u8,
}

/// What the header told us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    pub concat: Option<Concat>,
    pub ports: Option<Ports>,
}

/// Parses the information elements of a header (without its UDHL octet).
pub fn parse_header(h: &[u8]) -> Result<Header, PduError> {
    let mut out = Header::default();
    let mut i = 0;
    while i < h.len() {
        let (iei, len) = match h.get(i..i + 2) {
            Some(&[iei, len]) => (iei, usize::from(len)),
            _ => return Err(PduError::Invalid("UDH element header cut off")),
        };
        let data = h
            .get(i + 2..i + 2 + len)
            .ok_or(PduError::Invalid("UDH element longer than the header"))?;
        match (iei, data) {
            (0x00, &[reference, total, seq]) => {
                set_concat(&mut out, u16::from(reference), total, seq, 8);
            }
            (0x08, &[hi, lo, total, seq]) => {
                set_concat(&mut out, u16::from_be_bytes([hi, lo]), total, seq, 16);
            }
            (0x04, &[dst, src]) if out.ports.is_none() => {
                out.ports = Some(Ports {
                    dst: u16::from(dst),
                    src: u16::from(src),
                    bits: 8,
                });
            }
            (0x05, &[d0, d1, s0, s1]) if out.ports.is_none() => {
                out.ports = Some(Ports {
                    dst: u16::from_be_bytes([d0, d1]),
                    src: u16::from_be_bytes([s0, s1]),
                    bits: 16,
                });
            }
            // EMS formatting, language shifts, SMSC control, and malformed known IEIs:
            // none changes the text we return, so skip them.
            _ => {}
        }
        i += 2 + len;
    }
    Ok(out)
}

fn set_concat(out: &mut Header, reference: u16, total: u8, seq: u8, ref_bits: u8) {
    // TS 23.040 9.2.3.24.1: total 0, seq 0 or seq > total make the element unusable;
    // the part is then treated as a single message. The first good element wins.
    if out.concat.is_none() && total >= 1 && seq >= 1 && seq <= total {
        out.concat = Some(Concat {
            reference,
            total,
            seq,
            ref_bits,
        });
    }
}

/// The user data body, borrowed from the PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body<'a> {
    /// `count` septets starting at septet `start` of the packed TP-UD (so fill bits after
    /// the header are skipped by position).
    Septets {
        packed: &'a [u8],
        start: usize,
        count: usize,
    },
    Octets(&'a [u8]),
}

/// Parsed TP-UD: header facts plus a borrowed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserData<'a> {
    pub encoding: Encoding,
    pub concat: Option<Concat>,
    pub ports: Option<Ports>,
    body: Body<'a>,
}

impl<'a> UserData<'a> {
    /// Parses TP-UD from `rest` (everything after TP-UDL), trusting TP-UDL for the length
    /// and ignoring octets past it.
    pub fn parse(
        rest: &'a [u8],
        udl: u8,
        udhi: bool,
        encoding: Encoding,
    ) -> Result<Self, PduError> {
        let udl = usize::from(udl);
        let octets = match encoding {
            Encoding::Gsm7 => gsm7::packed_len(udl),
            Encoding::EightBit | Encoding::Ucs2 => udl,
        };
        let ud = rest
            .get(..octets)
            .ok_or(PduError::Truncated("user data shorter than TP-UDL"))?;
        let (header, header_octets) = if udhi {
            let udhl = usize::from(
                *ud.first()
                    .ok_or(PduError::Invalid("TP-UDHI set but no user data header"))?,
            );
            let h = ud
                .get(1..1 + udhl)
                .ok_or(PduError::Invalid("user data header longer than user data"))?;
            (parse_header(h)?, 1 + udhl)
        } else {
            (Header::default(), 0)
        };
        let body = match encoding {
            Encoding::Gsm7 => {
                let start = (header_octets * 8).div_ceil(7);
                let count = udl
                    .checked_sub(start)
                    .ok_or(PduError::Invalid("user data header longer than TP-UDL"))?;
                Body::Septets {
                    packed: ud,
                    start,
                    count,
                }
            }
            Encoding::EightBit | Encoding::Ucs2 => {
                Body::Octets(ud.get(header_octets..).unwrap_or(&[]))
            }
        };
        Ok(UserData {
            encoding,
            concat: header.concat,
            ports: header.ports,
            body,
        })
    }

    /// Raw body octets (8-bit and UCS2; None for packed GSM text).
    pub fn octets(&self) -> Option<&'a [u8]> {
        match self.body {
            Body::Octets(o) => Some(o),
            Body::Septets { .. } => None,
        }
    }

    /// Upper bound of the UTF-8 length of the text, to size the output once.
    pub fn text_capacity(&self) -> usize {
        match (self.body, self.encoding) {
            // Basic-table characters are at most 2 UTF-8 bytes, extension ones 3 for 2 septets.
            (Body::Septets { count, .. }, _) => count * 2,
            (Body::Octets(o), Encoding::Ucs2) => ucs2::utf8_capacity(o.len()),
            (Body::Octets(o), _) => o.len() * 2,
        }
    }

    /// Appends the text to `out`: GSM and UCS2 decoded, 8-bit data as upper-case hex.
    /// Returns true when UCS2 data held an unpaired surrogate (see [`ucs2::decode_into`]).
    pub fn write_text(&self, out: &mut String) -> bool {
        match (self.body, self.encoding) {
            (
                Body::Septets {
                    packed,
                    start,
                    count,
                },
                _,
            ) => {
                gsm7::unpack_into(packed, start, count, out);
                false
            }
            (Body::Octets(o), Encoding::Ucs2) => ucs2::decode_into(o, out),
            (Body::Octets(o), _) => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                for &b in o {
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0x0F)]));
                }
                false
            }
        }
    }
}

/// The concatenation header for one part: UDHL + IE.
pub fn concat_header(reference: u16, ref_bits: u8, total: u8, seq: u8) -> Vec<u8> {
    if ref_bits == 16 {
        let [hi, lo] = reference.to_be_bytes();
        vec![6, 0x08, 4, hi, lo, total, seq]
    } else {
        vec![5, 0x00, 3, reference as u8, total, seq]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_8_and_16_bit_and_ports() {
        let h = parse_header(&[0x00, 3, 0xC3, 2, 1]).unwrap();
        assert_eq!(
            h.concat,
            Some(Concat {
                reference: 0xC3,
                total: 2,
                seq: 1,
                ref_bits: 8
            })
        );
        let h =
            parse_header(&[0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x08, 4, 0x12, 0x34, 3, 3]).unwrap();
        assert_eq!(h.concat.unwrap().reference, 0x1234);
        assert_eq!(h.concat.unwrap().ref_bits, 16);
        assert_eq!(
            h.ports,
            Some(Ports {
                dst: 2948,
                src: 9200,
                bits: 16
            })
        );
        let h = parse_header(&[0x04, 2, 5, 6]).unwrap();
        assert_eq!(h.ports.unwrap().bits, 8);
    }

    #[test]
    fn unknown_elements_are_skipped_and_bad_concat_ignored() {
        let h = parse_header(&[0x0A, 3, 0, 4, 0x10, 0x24, 1, 0, 0x00, 3, 9, 2, 3]).unwrap();
        assert_eq!(h, Header::default());
        let h = parse_header(&[0x00, 3, 9, 0, 0]).unwrap();
        assert_eq!(h.concat, None);
    }

    #[test]
    fn overrunning_elements_are_errors() {
        assert!(parse_header(&[0x00, 3, 1, 2]).is_err());
        assert!(parse_header(&[0x00]).is_err());
    }

    #[test]
    fn gsm_text_after_header_starts_after_fill_bits() {
        // UDHL 5: 6 header octets = 48 bits -> 1 fill bit -> text at septet 7.
        let mut ud = vec![5, 0, 3, 1, 2, 1, 0, 0];
        let udl = 7 + 1;
        ud[6] = 0x41 << 1; // 'A' at bit 49
        let u = UserData::parse(&ud, udl, true, Encoding::Gsm7).unwrap();
        let mut s = String::new();
        u.write_text(&mut s);
        assert_eq!(s, "A");
        // UDHL 6: 56 bits, no fill: text at septet 8.
        let ud = vec![6, 8, 4, 0, 1, 2, 1, 0x41];
        let u = UserData::parse(&ud, 9, true, Encoding::Gsm7).unwrap();
        let mut s = String::new();
        u.write_text(&mut s);
        assert_eq!(s, "A");
    }

    #[test]
    fn lengths_are_checked() {
        assert!(matches!(
            UserData::parse(&[0x41], 2, false, Encoding::Gsm7),
            Err(PduError::Truncated(_))
        ));
        assert!(UserData::parse(&[], 0, true, Encoding::Ucs2).is_err());
        assert!(UserData::parse(&[9, 0], 2, true, Encoding::EightBit).is_err());
        // Header fits the octets but claims more septets than TP-UDL.
        assert!(UserData::parse(&[5, 0, 3, 1, 2, 1], 6, true, Encoding::Gsm7).is_err());
    }

    #[test]
    fn eight_bit_text_is_hex() {
        let u = UserData::parse(&[0xDE, 0xAD], 2, false, Encoding::EightBit).unwrap();
        let mut s = String::new();
        u.write_text(&mut s);
        assert_eq!(s, "DEAD");
        assert_eq!(u.octets(), Some(&[0xDE, 0xAD][..]));
    }
}
