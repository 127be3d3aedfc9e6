//! SMS-SUBMIT (TS 23.040 9.2.2.2): FO, TP-MR, TP-DA, TP-PID, TP-DCS, [TP-VP], TP-UDL, TP-UD.
//! Decoded when a modem lists messages we stored or sent; encoded for AT+CMGS.

use super::{
    address, dcs_for, owned_text, push_user_data, read_user_data, split, time, udh, Address,
    EncodedPart, PduError, Reader, Submit, SubmitOptions, UserData, Validity, FO_RP, FO_UDHI,
};

const FO_MTI_SUBMIT: u8 = 0x01;
const FO_RD: u8 = 0x04;
const FO_SRR: u8 = 0x20;

/// An SMS-SUBMIT borrowing its user data from the PDU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubmitView<'a> {
    /// `smsc`, `pid`, `dcs`, `class` and `user_data` hold what they hold in a
    /// [`DeliverView`](super::DeliverView).
    pub smsc: Option<Address>,
    /// TP-MR, the reference a status report quotes.
    pub message_ref: u8,
    /// TP-DA, the recipient.
    pub recipient: Address,
    pub pid: u8,
    pub dcs: u8,
    pub class: Option<u8>,
    /// TP-VP in the format TP-VPF names.
    pub validity: Validity,
    /// TP-RD: the SMSC may drop a duplicate of an earlier submit.
    pub reject_duplicates: bool,
    /// TP-SRR: a status report is wanted.
    pub status_report_request: bool,
    /// TP-RP: a reply may use our SMSC.
    pub reply_path: bool,
    pub user_data: UserData<'a>,
}

pub(super) fn read<'a>(
    r: &mut Reader<'a>,
    fo: u8,
    smsc: Option<Address>,
) -> Result<SubmitView<'a>, PduError> {
    let message_ref = r.u8("TP-MR")?;
    let recipient = address::read_address(r)?;
    let pid = r.u8("TP-PID")?;
    let dcs = r.u8("TP-DCS")?;
    let validity = match (fo >> 3) & 0x03 {
        0 => Validity::None,
        2 => Validity::Relative(r.u8("TP-VP")?),
        1 => Validity::Enhanced(r.array::<7>("TP-VP")?),
        _ => Validity::Absolute(time::read_scts(r, "TP-VP")?),
    };
    let (class, user_data) = read_user_data(r, fo, dcs)?;
    Ok(SubmitView {
        smsc,
        message_ref,
        recipient,
        pid,
        dcs,
        class,
        validity,
        reject_duplicates: fo & FO_RD != 0,
        status_report_request: fo & FO_SRR != 0,
        reply_path: fo & FO_RP != 0,
        user_data,
    })
}

impl SubmitView<'_> {
    pub fn to_submit(&self) -> Submit {
        let (text, data) = owned_text(&self.user_data);
        Submit {
            smsc: self.smsc.map(|a| a.to_string()),
            recipient: self.recipient.to_string(),
            message_ref: self.message_ref,
            encoding: self.user_data.encoding,
            class: self.class,
            text,
            data,
            concat: self.user_data.concat,
            status_report_request: self.status_report_request,
            ports: self.user_data.ports,
            validity: self.validity,
            reject_duplicates: self.reject_duplicates,
            dcs: self.dcs,
            pid: self.pid,
        }
    }
}

pub(super) fn encode(
    to: &str,
    text: &str,
    opts: &SubmitOptions,
) -> Result<Vec<EncodedPart>, PduError> {
    if opts.class.is_some_and(|c| c > 3) {
        return Err(PduError::Invalid("message class must be 0-3"));
    }
    let mut smsc = Vec::with_capacity(12);
    address::write_smsc(opts.smsc.as_deref(), &mut smsc)?;
    let mut da = Vec::with_capacity(12);
    address::write_numeric(to, &mut da)?;
    let plan = split::plan(text, 8);
    let total = plan.parts.len();
    if total > split::MAX_PARTS {
        return Err(PduError::Invalid("text needs more than 255 parts"));
    }
    let dcs = dcs_for(plan.encoding, opts.class);
    let hex_smsc = hex::encode_upper(&smsc);
    let parts = plan
        .parts
        .iter()
        .enumerate()
        .map(|(i, range)| {
            let header = (total > 1).then(|| {
                udh::concat_header(u16::from(opts.concat_ref), 8, total as u8, i as u8 + 1)
            });
            let mut fo = FO_MTI_SUBMIT;
            if opts.status_report {
                fo |= FO_SRR;
            }
            if header.is_some() {
                fo |= FO_UDHI;
            }
            let mut tpdu = Vec::with_capacity(164);
            tpdu.push(fo);
            // Modems replace TP-MR, but the EC2x manual asks for one per part.
            tpdu.push(opts.message_ref.wrapping_add(i as u8));
            tpdu.extend_from_slice(&da);
            tpdu.push(0); // TP-PID: plain SMS
            tpdu.push(dcs);
            let part = text.get(range.clone()).unwrap_or_default();
            push_user_data(&mut tpdu, plan.encoding, part, header.as_deref());
            let mut hex = String::with_capacity(hex_smsc.len() + 2 * tpdu.len());
            hex.push_str(&hex_smsc);
            hex.push_str(&hex::encode_upper(&tpdu));
            EncodedPart {
                tpdu_len: tpdu.len(),
                hex,
            }
        })
        .collect();
    Ok(parts)
}
