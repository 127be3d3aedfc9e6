//! SMS-STATUS-REPORT (TS 23.040 9.2.2.3): FO, TP-MR, TP-RA, TP-SCTS, TP-DT, TP-ST and
//! optional parameters we do not need (TP-PI, PID, DCS, UD), which are ignored.

use super::{address, time, Address, PduError, Reader};
use chrono::{DateTime, FixedOffset};

/// An SMS-STATUS-REPORT: nothing in it borrows from the PDU (addresses are inline), so the
/// view and the owned form are this one type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatusReport {
    /// The SMSC address in front of the TPDU (absent when the modem leaves it out).
    pub smsc: Option<Address>,
    /// TP-MR of the SUBMIT this report is about.
    pub message_ref: u8,
    /// TP-RA: the recipient of that SUBMIT.
    pub recipient: Address,
    /// TP-SCTS: when the SMSC took the SUBMIT.
    pub timestamp: DateTime<FixedOffset>,
    /// TP-DT: when it was delivered, or the status last changed.
    pub discharge_time: DateTime<FixedOffset>,
    /// TP-ST: 0x00..0x1F delivered/completed, 0x20.. temporary, 0x40.. permanent, 0x60.. temporary-stopped.
    pub status: u8,
    /// TP-SRQ: the report answers an SMS-COMMAND rather than a SUBMIT.
    pub srq: bool,
}

pub(super) fn read(
    r: &mut Reader<'_>,
    fo: u8,
    smsc: Option<Address>,
) -> Result<StatusReport, PduError> {
    let message_ref = r.u8("TP-MR")?;
    let recipient = address::read_address(r)?;
    let timestamp = time::read_scts(r, "TP-SCTS")?;
    let discharge_time = time::read_scts(r, "TP-DT")?;
    let status = r.u8("TP-ST")?;
    Ok(StatusReport {
        smsc,
        message_ref,
        recipient,
        timestamp,
        discharge_time,
        status,
        srq: fo & 0x20 != 0,
    })
}

/// Encodes an SMS-STATUS-REPORT (full PDU hex with SMSC field "00").
pub fn encode(
    message_ref: u8,
    recipient: &str,
    scts: DateTime<FixedOffset>,
    discharge: DateTime<FixedOffset>,
    status: u8,
) -> String {
    let mut pdu = Vec::with_capacity(32);
    pdu.push(0); // empty SMSC field
    pdu.push(0x06); // MTI 10 (status report), TP-MMS set
    pdu.push(message_ref);
    address::write_originator(recipient, &mut pdu);
    pdu.extend_from_slice(&time::encode_scts(&scts));
    pdu.extend_from_slice(&time::encode_scts(&discharge));
    pdu.push(status);
    hex::encode_upper(pdu)
}
