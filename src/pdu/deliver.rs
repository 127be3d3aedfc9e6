//! SMS-DELIVER (TS 23.040 9.2.2.1): FO, TP-OA, TP-PID, TP-DCS, TP-SCTS, TP-UDL, TP-UD.

use super::{
    address, dcs_for, owned_text, push_user_data, read_user_data, split, time, udh, Address,
    Deliver, PduError, Reader, UserData, FO_RP, FO_UDHI,
};
use chrono::{DateTime, FixedOffset};

const FO_MMS: u8 = 0x04;
const FO_SRI: u8 = 0x20;

/// An SMS-DELIVER borrowing its user data from the PDU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliverView<'a> {
    /// The SMSC address in front of the TPDU (absent when the modem leaves it out).
    pub smsc: Option<Address>,
    /// TP-OA, the sender.
    pub sender: Address,
    /// TP-SCTS, when the SMSC received it (with the sender's zone).
    pub timestamp: DateTime<FixedOffset>,
    /// TP-PID: 0 for a plain SMS.
    pub pid: u8,
    /// TP-DCS as received; `class` and the user data's encoding are read from it.
    pub dcs: u8,
    /// The message class (0 flash, 1 ME, 2 SIM, 3 TE), when the DCS gives one.
    pub class: Option<u8>,
    /// TP-MMS clear: the SMSC has more messages waiting.
    pub more_messages: bool,
    /// TP-SRI: the sender asked for a status report.
    pub status_report_indication: bool,
    /// TP-RP: a reply may use the sender's SMSC.
    pub reply_path: bool,
    /// TP-UD with its header (concatenation, ports), borrowed.
    pub user_data: UserData<'a>,
}

impl DeliverView<'_> {
    pub fn to_deliver(&self) -> Deliver {
        let (text, data) = owned_text(&self.user_data);
        Deliver {
            smsc: self.smsc.map(|a| a.to_string()),
            sender: self.sender.to_string(),
            sender_ton: self.sender.ton(),
            timestamp: self.timestamp,
            encoding: self.user_data.encoding,
            class: self.class,
            text,
            data,
            concat: self.user_data.concat,
            ports: self.user_data.ports,
            dcs: self.dcs,
            pid: self.pid,
        }
    }
}

impl<'a> DeliverView<'a> {
    /// Reads the TPDU after its first octet `fo`; `smsc` is what came in front of it.
    pub(super) fn read(
        r: &mut Reader<'a>,
        fo: u8,
        smsc: Option<Address>,
    ) -> Result<Self, PduError> {
        let sender = address::read_address(r)?;
        let pid = r.u8("TP-PID")?;
        let dcs = r.u8("TP-DCS")?;
        let timestamp = time::read_scts(r, "TP-SCTS")?;
        let (class, user_data) = read_user_data(r, fo, dcs)?;
        Ok(DeliverView {
            smsc,
            sender,
            timestamp,
            pid,
            dcs,
            class,
            more_messages: fo & FO_MMS == 0,
            status_report_indication: fo & FO_SRI != 0,
            reply_path: fo & FO_RP != 0,
            user_data,
        })
    }
}

pub(super) fn encode(
    sender: &str,
    text: &str,
    scts: DateTime<FixedOffset>,
    concat_ref: u8,
) -> Vec<String> {
    let plan = split::plan(text, 8);
    let total = plan.parts.len().min(split::MAX_PARTS);
    let mut oa = Vec::with_capacity(12);
    address::write_originator(sender, &mut oa);
    let ts = time::encode_scts(&scts);
    let dcs = dcs_for(plan.encoding, None);
    plan.parts
        .iter()
        .take(total)
        .enumerate()
        .map(|(i, range)| {
            let header = (total > 1)
                .then(|| udh::concat_header(u16::from(concat_ref), 8, total as u8, i as u8 + 1));
            let fo = FO_MMS | if header.is_some() { FO_UDHI } else { 0 };
            let mut pdu = Vec::with_capacity(176);
            pdu.push(0); // empty SMSC field
            pdu.push(fo);
            pdu.extend_from_slice(&oa);
            pdu.push(0); // TP-PID: plain SMS
            pdu.push(dcs);
            pdu.extend_from_slice(&ts);
            let part = text.get(range.clone()).unwrap_or_default();
            push_user_data(&mut pdu, plan.encoding, part, header.as_deref());
            hex::encode_upper(pdu)
        })
        .collect()
}
