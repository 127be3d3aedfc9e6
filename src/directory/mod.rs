//! The village and cadre directory: which villages exist (code, name, town, signature, the
//! modems that serve them), who the cadres are (name, phone, role, village or town, the
//! categories they handle, an optional PIN) and the lookups routing needs.
//!
//! It lives in its own TOML file (the config's `directory` key; see
//! gateway-config/directory.example.toml) because it changes far more often than the gateway's
//! settings: the daemon re-reads it on SIGHUP through a [`DirectoryHandle`], and
//! `appeal-gateway directory ...` edits it. A directory that fails validation is never swapped
//! in: the running one stays.

use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::phone::national;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: String },
    #[error("cannot write {path}: {error}")]
    Write { path: String, error: String },
    #[error("{path}: TOML: {error}")]
    Syntax { path: String, error: String },
    #[error("{path}: {}", .problems.join("; "))]
    Invalid { path: String, problems: Vec<String> },
}

/// What a cadre is, which decides what they may do and which alerts they get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CadreRole {
    /// 村干部: handles the village's appeals.
    VillageCadre,
    /// 网格员: like a village cadre, usually for some categories only.
    GridMember,
    /// 镇政府: gets red alerts and escalations of its town.
    TownOffice,
    /// 纪委监督员: told of missed deadlines and bad ratings; may add notes.
    Inspector,
    /// 乡村智库专家: answers villagers' questions (`ZK`) of their categories by SMS (`DA`).
    Expert,
}

impl CadreRole {
    pub fn as_str(self) -> &'static str {
        match self {
            CadreRole::VillageCadre => "village_cadre",
            CadreRole::GridMember => "grid_member",
            CadreRole::TownOffice => "town_office",
            CadreRole::Inspector => "inspector",
            CadreRole::Expert => "expert",
        }
    }
}

impl std::str::FromStr for CadreRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "village_cadre" => Ok(CadreRole::VillageCadre),
            "grid_member" => Ok(CadreRole::GridMember),
            "town_office" => Ok(CadreRole::TownOffice),
            "inspector" => Ok(CadreRole::Inspector),
            other => Err(format!(
                "unknown role `{other}` (village_cadre, grid_member, town_office, inspector)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Village {
    /// Short code villagers may put in a text (e.g. "SH01" or the 12-digit statistical code).
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub town: String,
    /// Put in front of every text about this village's appeals, e.g. "【双红村】".
    #[serde(default)]
    pub signature: Option<String>,
    /// Names of the modems ([[modem]] name) whose SIM serves this village.
    #[serde(default)]
    pub modems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cadre {
    pub name: String,
    pub phone: String,
    pub role: CadreRole,
    /// Village code, for village cadres and grid members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub village: Option<String>,
    /// Town name, for town offices and inspectors (empty: every town).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    /// Categories handled; empty = the village's fallback for every category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// When set, this cadre's commands must carry it: "JS002#1234".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// The whole directory file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    #[serde(default, rename = "village")]
    pub villages: Vec<Village>,
    #[serde(default, rename = "cadre")]
    pub cadres: Vec<Cadre>,
}

impl Directory {
    /// Parses and validates the text of a directory file (`path` only names it in errors).
    pub fn parse(text: &str, path: &str) -> Result<Directory, DirectoryError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let d: Directory = toml::from_str(text).map_err(|e| DirectoryError::Syntax {
            path: path.to_string(),
            error: e.to_string(),
        })?;
        let problems = d.problems();
        if problems.is_empty() {
            Ok(d)
        } else {
            Err(DirectoryError::Invalid {
                path: path.to_string(),
                problems,
            })
        }
    }

    pub fn load(path: &Path) -> Result<Directory, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|e| DirectoryError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        Directory::parse(&text, &path.display().to_string())
    }

    /// Writes the file whole (through a temporary file and a rename, so a reload never reads
    /// half of it). Comments in the old file are not kept.
    pub fn save(&self, path: &Path) -> Result<(), DirectoryError> {
        let werr = |e: String| DirectoryError::Write {
            path: path.display().to_string(),
            error: e,
        };
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(DirectoryError::Invalid {
                path: path.display().to_string(),
                problems,
            });
        }
        let text = toml::to_string(self).map_err(|e| werr(e.to_string()))?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(
            &tmp,
            format!("# 村庄与干部名录 (written by appeal-gateway directory)\n{text}"),
        )
        .map_err(|e| werr(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| werr(e.to_string()))
    }

    /// Every problem, so an admin fixes the file in one go.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, v) in self.villages.iter().enumerate() {
            if v.code.trim().is_empty() || v.name.trim().is_empty() {
                out.push(format!("village[{i}]: code and name must not be empty"));
            }
            if self.villages[..i].iter().any(|w| w.code == v.code) {
                out.push(format!("village[{i}]: code `{}` is listed twice", v.code));
            }
        }
        for (i, c) in self.cadres.iter().enumerate() {
            let digits = national(&c.phone);
            if !crate::phone::is_valid(digits) {
                out.push(format!(
                    "cadre[{i}] {}: phone `{}` is not a phone number",
                    c.name, c.phone
                ));
            }
            if self.cadres[..i]
                .iter()
                .any(|d| national(&d.phone) == digits)
            {
                out.push(format!(
                    "cadre[{i}] {}: phone {} is listed twice",
                    c.name, c.phone
                ));
            }
            if c.name.trim().is_empty() {
                out.push(format!("cadre[{i}]: empty name"));
            }
            if let Some(pin) = &c.pin {
                if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    out.push(format!("cadre[{i}] {}: pin must be 4-8 digits", c.name));
                }
            }
            match c.role {
                CadreRole::VillageCadre | CadreRole::GridMember => match &c.village {
                    None => out.push(format!(
                        "cadre[{i}] {}: a {} needs `village`",
                        c.name,
                        c.role.as_str()
                    )),
                    Some(code) if self.village(code).is_none() => {
                        out.push(format!("cadre[{i}] {}: unknown village `{code}`", c.name))
                    }
                    Some(_) => {}
                },
                CadreRole::TownOffice | CadreRole::Inspector | CadreRole::Expert => {}
            }
        }
        out
    }

    pub fn village(&self, code: &str) -> Option<&Village> {
        self.villages.iter().find(|v| v.code == code)
    }

    /// The village a modem serves, when it serves exactly one.
    pub fn village_of_modem(&self, modem: &str) -> Option<&Village> {
        let mut it = self
            .villages
            .iter()
            .filter(|v| v.modems.iter().any(|m| m == modem));
        let first = it.next()?;
        it.next().is_none().then_some(first)
    }

    /// A village code written in a text as a word of its own ("SH01 路灯坏了").
    pub fn village_in_text(&self, text: &str) -> Option<&Village> {
        let upper = text.to_uppercase();
        self.villages.iter().find(|v| {
            let code = v.code.to_uppercase();
            upper.match_indices(&code).any(|(at, _)| {
                let before = upper[..at].chars().next_back();
                let after = upper[at + code.len()..].chars().next();
                let edge = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
                edge(before) && edge(after)
            })
        })
    }

    pub fn cadre_by_phone(&self, phone: &str) -> Option<&Cadre> {
        let p = national(phone);
        self.cadres.iter().find(|c| national(&c.phone) == p)
    }

    /// By name or phone, for 转办 targets.
    pub fn cadre_by_name_or_phone(&self, who: &str) -> Option<&Cadre> {
        let who = who.trim();
        self.cadres
            .iter()
            .find(|c| c.name == who)
            .or_else(|| self.cadre_by_phone(who))
    }

    /// Who handles `category` in `village`: a village cadre or grid member listing the
    /// category, else the village's fallback (one listing no categories), else the town office.
    pub fn route(&self, village: Option<&str>, category: &str) -> Option<&Cadre> {
        let local = |c: &&Cadre| {
            matches!(c.role, CadreRole::VillageCadre | CadreRole::GridMember)
                && village.is_some()
                && c.village.as_deref() == village
        };
        self.cadres
            .iter()
            .filter(local)
            .find(|c| c.categories.iter().any(|k| k == category))
            .or_else(|| {
                self.cadres
                    .iter()
                    .filter(local)
                    .find(|c| c.categories.is_empty())
            })
            .or_else(|| {
                self.town_cadres(village, CadreRole::TownOffice)
                    .into_iter()
                    .next()
            })
    }

    /// Town offices (or inspectors) of a village's town; those with no town cover every town.
    pub fn town_cadres(&self, village: Option<&str>, role: CadreRole) -> Vec<&Cadre> {
        let town = village
            .and_then(|v| self.village(v))
            .map(|v| v.town.as_str());
        self.cadres
            .iter()
            .filter(|c| c.role == role)
            .filter(|c| match (c.town.as_deref(), town) {
                (None, _) | (Some(""), _) => true,
                (Some(t), Some(vt)) => t == vt,
                // An appeal of unknown village goes to every town office rather than none.
                (Some(_), None) => true,
            })
            .collect()
    }

    /// Whether `cadre` serves `village` (its own village, or a town post over its town).
    pub fn serves(&self, cadre: &Cadre, village: Option<&str>) -> bool {
        match cadre.role {
            CadreRole::VillageCadre | CadreRole::GridMember => {
                village.is_some() && cadre.village.as_deref() == village
            }
            CadreRole::TownOffice | CadreRole::Inspector => self
                .town_cadres(village, cadre.role)
                .iter()
                .any(|c| c.phone == cadre.phone),
            // Experts answer the think tank's questions, not appeals.
            CadreRole::Expert => false,
        }
    }
}

/// The directory the daemon currently uses; replaced whole on reload, so readers see either
/// the old or the new one, never a mix.
#[derive(Debug, Clone, Default)]
pub struct DirectoryHandle(Arc<RwLock<Arc<Directory>>>);

impl DirectoryHandle {
    pub fn new(d: Directory) -> DirectoryHandle {
        DirectoryHandle(Arc::new(RwLock::new(Arc::new(d))))
    }

    pub fn current(&self) -> Arc<Directory> {
        // A poisoned lock only means a reader panicked; the Arc inside is still whole.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, d: Directory) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(d);
    }

    /// Re-reads `path`; on error the current directory stays and the error is returned.
    pub fn reload(&self, path: &Path) -> Result<(), DirectoryError> {
        let d = Directory::load(path)?;
        self.replace(d);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../gateway-config/directory.example.toml");

    #[test]
    fn example_parses_and_routes() {
        let d = Directory::parse(EXAMPLE, "example").unwrap();
        assert_eq!(d.village_of_modem("village1").unwrap().name, "双红村");
        let c = d.route(Some("SH01"), "农业保险").unwrap();
        assert_eq!(c.role, CadreRole::GridMember);
        let fallback = d.route(Some("SH01"), "邻里纠纷").unwrap();
        assert_eq!(fallback.role, CadreRole::VillageCadre);
        assert_eq!(d.route(None, "其他").unwrap().role, CadreRole::TownOffice);
        assert!(!d.town_cadres(Some("SH01"), CadreRole::Inspector).is_empty());
    }

    #[test]
    fn village_codes_in_text_are_whole_words() {
        let d = Directory::parse(EXAMPLE, "example").unwrap();
        assert_eq!(d.village_in_text("sh01 路灯坏了").unwrap().code, "SH01");
        assert!(d.village_in_text("SH012 路灯").is_none());
    }

    #[test]
    fn problems_are_all_listed() {
        let bad = r#"
[[village]]
code = "A"
name = "甲村"
[[cadre]]
name = "x"
phone = "abc"
role = "village_cadre"
village = "B"
pin = "12"
"#;
        let Err(DirectoryError::Invalid { problems, .. }) = Directory::parse(bad, "bad") else {
            panic!("expected invalid");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(matches!(
            Directory::parse("[[cadre]]\nnmae = 1", "x"),
            Err(DirectoryError::Syntax { .. })
        ));
    }

    #[test]
    fn save_round_trips() {
        let d = Directory::parse(EXAMPLE, "example").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.toml");
        d.save(&p).unwrap();
        assert_eq!(Directory::load(&p).unwrap(), d);
        let h = DirectoryHandle::new(Directory::default());
        h.reload(&p).unwrap();
        assert_eq!(*h.current(), d);
        std::fs::write(&p, "[[village]]\ncode = 1").unwrap();
        assert!(h.reload(&p).is_err());
        assert_eq!(*h.current(), d, "a bad file leaves the running directory");
    }
}
