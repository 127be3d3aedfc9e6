//! +CMS ERROR (TS 27.005 3.2.5, with the RP causes of TS 24.011 and the TP-FCS values of
//! TS 23.040 9.2.3.22) and +CME ERROR (TS 27.007 9.2) codes: names, descriptions and
//! whether retrying can help.
//!
//! Classification policy (at-modem.md section 7 is the source; where it is silent the
//! choice is argued next to the code):
//! - `Transient`: the same command can succeed later unchanged (busy, congestion,
//!   network timeout, start-up in progress). Callers retry with back-off and a bound.
//! - `Permanent`: retrying the same thing fails again (bad PDU, barred or unknown
//!   destination, unsupported operation). Fail the message and log the description.
//! - `NeedsOperator`: a person must act (SIM missing or locked, PIN/PUK, no SMSC
//!   configured). Keep the work queued, raise an alarm, never retry a PIN.
//! - Codes outside the tables default to `Transient`: losing a villager's reply to a
//!   misread code costs more than a few bounded retries. The ranges 128-191 (TP-PID,
//!   TP-DCS, TP-command errors: our PDU is wrong) are the exception and are permanent.

/// What retrying a command that failed with this code can achieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Retry later (bounded, with back-off).
    Transient,
    /// Retrying will fail again.
    Permanent,
    /// A person must fix the SIM or the configuration first.
    NeedsOperator,
}

/// Declares an error enum from a table of `Variant = code, class, "27.00x text";` rows,
/// plus `Other(u16)` for codes outside it. The text doubles as the verbose form that
/// `AT+CMEE=2` prints, so the same table parses it back.
macro_rules! error_table {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $class:ident, $desc:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
        pub enum $name {
            $( $(#[$vmeta])* #[error($desc)] $variant, )*
            /// A code outside the table (unlisted network cause or vendor code).
            #[error("error code {0}")]
            Other(u16),
        }

        impl $name {
            const TABLE: &'static [($name, u16, &'static str)] = &[
                $( ($name::$variant, $code, $desc), )*
            ];

            pub fn from_code(code: u16) -> Self {
                match code {
                    $( $code => Self::$variant, )*
                    other => Self::Other(other),
                }
            }

            pub fn code(self) -> u16 {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Other(code) => code,
                }
            }

            fn listed_class(self) -> Option<ErrorClass> {
                match self {
                    $( Self::$variant => Some(ErrorClass::$class), )*
                    Self::Other(_) => None,
                }
            }

            fn listed_description(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($desc), )*
                    Self::Other(_) => None,
                }
            }

            /// The code for a verbose error text (`AT+CMEE=2`), compared without case,
            /// spaces or punctuation, so "SIM busy" and "sim-busy" both match.
            pub fn from_text(text: &str) -> Option<Self> {
                let wanted = squash(text);
                if wanted.is_empty() {
                    return None;
                }
                Self::TABLE
                    .iter()
                    .find(|(_, _, desc)| squash(desc) == wanted)
                    .map(|(variant, _, _)| *variant)
            }
        }
    };
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

error_table! {
    /// A `+CMS ERROR` code. 0-127: RP cause from the network (TS 24.011 8.2.5.4);
    /// 128-255: TP-FCS from the SMSC or the phone (TS 23.040 9.2.3.22); 300-500: the
    /// modem (TS 27.005 3.2.5); 512 and up: vendor specific.
    pub enum CmsError {
        UnassignedNumber = 1, Permanent, "unassigned (unallocated) number";
        OperatorBarring = 8, Permanent, "operator determined barring";
        CallBarred = 10, Permanent, "call barred";
        /// A network-side failure; the SMSC path may recover.
        NetworkFailure = 17, Transient, "network failure";
        TransferRejected = 21, Permanent, "short message transfer rejected";
        /// The recipient's memory is full; it clears when they delete messages.
        MemoryCapacityExceededRp = 22, Transient, "memory capacity exceeded";
        DestinationOutOfOrder = 27, Permanent, "destination out of order";
        UnidentifiedSubscriber = 28, Permanent, "unidentified subscriber";
        FacilityRejected = 29, Permanent, "facility rejected";
        UnknownSubscriber = 30, Permanent, "unknown subscriber";
        NetworkOutOfOrder = 38, Transient, "network out of order";
        TemporaryFailure = 41, Transient, "temporary failure";
        Congestion = 42, Transient, "congestion";
        ResourcesUnavailable = 47, Transient, "resources unavailable, unspecified";
        NotSubscribed = 50, Permanent, "requested facility not subscribed";
        NotImplemented = 69, Permanent, "requested facility not implemented";
        InvalidTransferReference = 81, Permanent, "invalid short message transfer reference value";
        InvalidMessage = 95, Permanent, "invalid message, unspecified";
        InvalidMandatoryInformation = 96, Permanent, "invalid mandatory information";
        MessageTypeNonExistent = 97, Permanent, "message type non-existent or not implemented";
        MessageNotCompatible = 98, Permanent, "message not compatible with short message protocol state";
        InformationElementNonExistent = 99, Permanent, "information element non-existent or not implemented";
        ProtocolError = 111, Permanent, "protocol error, unspecified";
        Interworking = 127, Permanent, "interworking, unspecified";
        TelematicInterworkingNotSupported = 128, Permanent, "telematic interworking not supported";
        Type0NotSupported = 129, Permanent, "short message type 0 not supported";
        CannotReplace = 130, Permanent, "cannot replace short message";
        UnspecifiedPidError = 143, Permanent, "unspecified TP-PID error";
        AlphabetNotSupported = 144, Permanent, "data coding scheme (alphabet) not supported";
        MessageClassNotSupported = 145, Permanent, "message class not supported";
        UnspecifiedDcsError = 159, Permanent, "unspecified TP-DCS error";
        CommandCannotBeActioned = 160, Permanent, "command cannot be actioned";
        CommandUnsupported = 161, Permanent, "command unsupported";
        UnspecifiedCommandError = 175, Permanent, "unspecified TP-command error";
        TpduNotSupported = 176, Permanent, "TPDU not supported";
        ScBusy = 192, Transient, "SC busy";
        NoScSubscription = 193, Permanent, "no SC subscription";
        ScSystemFailure = 194, Transient, "SC system failure";
        InvalidSmeAddress = 195, Permanent, "invalid SME address";
        DestinationSmeBarred = 196, Permanent, "destination SME barred";
        RejectedDuplicate = 197, Permanent, "SM rejected-duplicate SM";
        VpfNotSupported = 198, Permanent, "TP-VPF not supported";
        VpNotSupported = 199, Permanent, "TP-VP not supported";
        /// Transient because the inbox deletes every message once it is committed, so
        /// space comes back; the storage alarm (above ~80 %) covers a store that does not drain.
        SimStorageFull = 208, Transient, "SIM SMS storage full";
        NoSimStorage = 209, Permanent, "no SMS storage capability in SIM";
        ErrorInMs = 210, Transient, "error in MS";
        /// See `SimStorageFull`.
        MemoryCapacityExceeded = 211, Transient, "memory capacity exceeded";
        SatBusy = 212, Transient, "SIM application toolkit busy";
        SimDataDownloadError = 213, Transient, "SIM data download error";
        Unspecified = 255, Transient, "unspecified error cause";
        /// Retry; if it persists the driver resets the modem.
        MeFailure = 300, Transient, "ME failure";
        ServiceReserved = 301, Permanent, "SMS service of ME reserved";
        /// Permanent although some modems say it during boot: the driver waits for
        /// "SMS Ready" before sending, so a 302 after that is real.
        OperationNotAllowed = 302, Permanent, "operation not allowed";
        OperationNotSupported = 303, Permanent, "operation not supported";
        /// Our PDU or its length is wrong: a bug, never fixed by retrying.
        InvalidPduParameter = 304, Permanent, "invalid PDU mode parameter";
        InvalidTextParameter = 305, Permanent, "invalid text mode parameter";
        SimNotInserted = 310, NeedsOperator, "SIM not inserted";
        SimPinRequired = 311, NeedsOperator, "SIM PIN required";
        PhSimPinRequired = 312, NeedsOperator, "PH-SIM PIN required";
        SimFailure = 313, NeedsOperator, "SIM failure";
        SimBusy = 314, Transient, "SIM busy";
        SimWrong = 315, NeedsOperator, "SIM wrong";
        SimPukRequired = 316, NeedsOperator, "SIM PUK required";
        SimPin2Required = 317, NeedsOperator, "SIM PIN2 required";
        SimPuk2Required = 318, NeedsOperator, "SIM PUK2 required";
        MemoryFailure = 320, Transient, "memory failure";
        /// On read: the slot is empty (skip it); on delete: already gone.
        InvalidMemoryIndex = 321, Permanent, "invalid memory index";
        /// See `SimStorageFull`.
        MemoryFull = 322, Transient, "memory full";
        /// Configuration: set AT+CSCA or put the SMSC into every PDU.
        SmscAddressUnknown = 330, NeedsOperator, "SMSC address unknown";
        /// Wait for registration, then retry.
        NoNetworkService = 331, Transient, "no network service";
        NetworkTimeout = 332, Transient, "network timeout";
        /// A second +CNMA: nothing to do, and nothing to retry.
        NoCnmaExpected = 340, Permanent, "no +CNMA acknowledgement expected";
        /// at-modem.md: "retry a few times, then fail" - the caller's retry bound does that.
        UnknownError = 500, Transient, "unknown error";
    }
}

impl CmsError {
    pub fn class(self) -> ErrorClass {
        if let Some(class) = self.listed_class() {
            return class;
        }
        match self.code() {
            // TP-PID / TP-DCS / TP-command / TPDU errors: the PDU itself is refused.
            128..=191 => ErrorClass::Permanent,
            // Unlisted network causes, reserved SC values and vendor codes (512+: busy and
            // "init in progress" codes live here on several vendors): bounded retry.
            _ => ErrorClass::Transient,
        }
    }

    pub fn description(self) -> &'static str {
        if let Some(desc) = self.listed_description() {
            return desc;
        }
        match self.code() {
            0..=127 => "network cause (unlisted)",
            128..=143 => "TP-PID error",
            144..=159 => "TP-DCS error",
            160..=175 => "TP-command error",
            176..=191 => "TPDU error",
            192..=223 => "SC or MS error (unlisted)",
            224..=254 => "application specific error",
            512.. => "vendor specific error",
            _ => "reserved error code",
        }
    }
}

error_table! {
    /// A `+CME ERROR` code (TS 27.007 9.2.1 general, 9.2.2 GPRS), plus the vendor codes
    /// at-modem.md names.
    pub enum CmeError {
        /// Retry; if it persists the driver resets the modem (like +CMS 300).
        PhoneFailure = 0, Transient, "phone failure";
        NoConnection = 1, Transient, "no connection to phone";
        LinkReserved = 2, Transient, "phone-adaptor link reserved";
        OperationNotAllowed = 3, Permanent, "operation not allowed";
        OperationNotSupported = 4, Permanent, "operation not supported";
        PhSimPinRequired = 5, NeedsOperator, "PH-SIM PIN required";
        PhFsimPinRequired = 6, NeedsOperator, "PH-FSIM PIN required";
        PhFsimPukRequired = 7, NeedsOperator, "PH-FSIM PUK required";
        SimNotInserted = 10, NeedsOperator, "SIM not inserted";
        SimPinRequired = 11, NeedsOperator, "SIM PIN required";
        SimPukRequired = 12, NeedsOperator, "SIM PUK required";
        SimFailure = 13, NeedsOperator, "SIM failure";
        /// Right after unlocking or boot; python-gsmmodem retries it.
        SimBusy = 14, Transient, "SIM busy";
        SimWrong = 15, NeedsOperator, "SIM wrong";
        /// Never retried automatically: three wrong PINs lock the SIM.
        IncorrectPassword = 16, NeedsOperator, "incorrect password";
        SimPin2Required = 17, NeedsOperator, "SIM PIN2 required";
        SimPuk2Required = 18, NeedsOperator, "SIM PUK2 required";
        /// The inbox drains the store; see `CmsError::SimStorageFull`.
        MemoryFull = 20, Transient, "memory full";
        InvalidIndex = 21, Permanent, "invalid index";
        NotFound = 22, Permanent, "not found";
        MemoryFailure = 23, Transient, "memory failure";
        TextTooLong = 24, Permanent, "text string too long";
        InvalidTextCharacters = 25, Permanent, "invalid characters in text string";
        DialStringTooLong = 26, Permanent, "dial string too long";
        InvalidDialCharacters = 27, Permanent, "invalid characters in dial string";
        NoNetworkService = 30, Transient, "no network service";
        NetworkTimeout = 31, Transient, "network timeout";
        /// Limited service is usually lost coverage, which comes back.
        EmergencyCallsOnly = 32, Transient, "network not allowed - emergency calls only";
        NetworkPersonalisationPin = 40, NeedsOperator, "network personalization PIN required";
        NetworkPersonalisationPuk = 41, NeedsOperator, "network personalization PUK required";
        NetworkSubsetPersonalisationPin = 42, NeedsOperator, "network subset personalization PIN required";
        NetworkSubsetPersonalisationPuk = 43, NeedsOperator, "network subset personalization PUK required";
        ProviderPersonalisationPin = 44, NeedsOperator, "service provider personalization PIN required";
        ProviderPersonalisationPuk = 45, NeedsOperator, "service provider personalization PUK required";
        CorporatePersonalisationPin = 46, NeedsOperator, "corporate personalization PIN required";
        CorporatePersonalisationPuk = 47, NeedsOperator, "corporate personalization PUK required";
        HiddenKeyRequired = 48, NeedsOperator, "hidden key required";
        EapMethodNotSupported = 49, Permanent, "EAP method not supported";
        IncorrectParameters = 50, Permanent, "incorrect parameters";
        /// Bounded retry, like +CMS 500.
        Unknown = 100, Transient, "unknown";
        IllegalMs = 103, NeedsOperator, "illegal MS";
        IllegalMe = 106, NeedsOperator, "illegal ME";
        GprsNotAllowed = 107, NeedsOperator, "GPRS services not allowed";
        PlmnNotAllowed = 111, NeedsOperator, "PLMN not allowed";
        /// Moving cells or a network change can lift it.
        LocationAreaNotAllowed = 112, Transient, "location area not allowed";
        RoamingNotAllowed = 113, NeedsOperator, "roaming not allowed in this location area";
        ServiceOptionNotSupported = 132, Permanent, "service option not supported";
        ServiceOptionNotSubscribed = 133, NeedsOperator, "requested service option not subscribed";
        ServiceOptionOutOfOrder = 134, Transient, "service option temporarily out of order";
        UnspecifiedGprsError = 148, Transient, "unspecified GPRS error";
        PdpAuthenticationFailure = 149, NeedsOperator, "PDP authentication failure";
        InvalidMobileClass = 150, Permanent, "invalid mobile class";
        /// Vendor (Huawei/ZTE/Qualcomm): "please wait, init or command processing in
        /// progress"; python-gsmmodem retries it.
        InitInProgress = 515, Transient, "init or command processing in progress";
        /// Quectel AT+QTTS/AT+QWTTS with bad parameters.
        QuectelTtsBadParameters = 902, Permanent, "TTS invalid parameters (Quectel)";
        /// Quectel AT+QWTTS outside a call or with both directions muted.
        QuectelTtsNotInCall = 903, Permanent, "TTS not possible in this call state (Quectel)";
    }
}

impl CmeError {
    pub fn class(self) -> ErrorClass {
        if let Some(class) = self.listed_class() {
            return class;
        }
        match self.code() {
            // Unlisted GPRS rejections (103-150) come from the network's view of our
            // subscription: a person must look.
            103..=150 => ErrorClass::NeedsOperator,
            _ => ErrorClass::Transient,
        }
    }

    pub fn description(self) -> &'static str {
        if let Some(desc) = self.listed_description() {
            return desc;
        }
        match self.code() {
            103..=150 => "network or GPRS rejection (unlisted)",
            512.. => "vendor specific error",
            _ => "unlisted error code",
        }
    }
}

/// Whether an error code is worth retrying: SIM busy, network timeout, "init in progress".
pub fn cms_is_transient(code: u16) -> bool {
    CmsError::from_code(code).class() == ErrorClass::Transient
}

pub fn cme_is_transient(code: u16) -> bool {
    CmeError::from_code(code).class() == ErrorClass::Transient
}

/// A short English description of a +CMS ERROR code (27.005 3.2.5), for logs and the outbox.
pub fn cms_description(code: u16) -> &'static str {
    CmsError::from_code(code).description()
}

pub fn cme_description(code: u16) -> &'static str {
    CmeError::from_code(code).description()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cms_classes_follow_the_reference_table() {
        for code in [14u16, 331, 332, 314, 300, 500, 192, 41, 42, 515, 535] {
            assert!(cms_is_transient(code), "{code} should be transient");
        }
        for code in [304u16, 305, 1, 21, 28, 96, 144, 150, 197, 321, 340] {
            assert!(!cms_is_transient(code), "{code} should not be transient");
            assert_eq!(CmsError::from_code(code).class(), ErrorClass::Permanent);
        }
        for code in [310u16, 311, 316, 330] {
            assert_eq!(CmsError::from_code(code).class(), ErrorClass::NeedsOperator);
        }
    }

    #[test]
    fn cme_classes_follow_the_reference_table() {
        for code in [14u16, 30, 31, 515, 100] {
            assert!(cme_is_transient(code), "{code} should be transient");
        }
        for code in [10u16, 11, 12, 13, 16] {
            assert_eq!(CmeError::from_code(code).class(), ErrorClass::NeedsOperator);
        }
        for code in [3u16, 4, 21, 24, 903] {
            assert_eq!(CmeError::from_code(code).class(), ErrorClass::Permanent);
        }
        assert_eq!(CmeError::from_code(140).class(), ErrorClass::NeedsOperator);
    }

    #[test]
    fn codes_round_trip_and_describe() {
        for code in 0u16..=1000 {
            assert_eq!(CmsError::from_code(code).code(), code);
            assert_eq!(CmeError::from_code(code).code(), code);
            assert!(!cms_description(code).is_empty());
            assert!(!cme_description(code).is_empty());
        }
        assert_eq!(CmsError::from_code(304), CmsError::InvalidPduParameter);
        assert_eq!(cms_description(321), "invalid memory index");
        assert_eq!(cms_description(600), "vendor specific error");
        assert_eq!(cms_description(135), "TP-PID error");
        assert_eq!(cme_description(14), "SIM busy");
        assert_eq!(CmeError::SimBusy.to_string(), "SIM busy");
        assert_eq!(CmsError::Other(77).to_string(), "error code 77");
    }

    #[test]
    fn verbose_texts_map_back_to_codes() {
        assert_eq!(
            CmeError::from_text("SIM not inserted"),
            Some(CmeError::SimNotInserted)
        );
        assert_eq!(CmeError::from_text("sim busy"), Some(CmeError::SimBusy));
        assert_eq!(
            CmeError::from_text("Network not allowed - emergency calls only").map(CmeError::code),
            Some(32)
        );
        assert_eq!(CmsError::from_text("SIM busy"), Some(CmsError::SimBusy));
        assert_eq!(
            CmsError::from_text("invalid memory index").map(CmsError::code),
            Some(321)
        );
        assert_eq!(CmeError::from_text("no such thing"), None);
        assert_eq!(CmeError::from_text("  "), None);
    }
}
