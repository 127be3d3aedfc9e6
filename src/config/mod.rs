//! TEMPORARY stub of the config types (the real module lands from the config branch).
use std::time::Duration;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Red,
    Yellow,
    Green,
}
impl Colour {
    pub fn as_str(&self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Yellow => "yellow",
            Colour::Green => "green",
        }
    }
    pub fn chinese(&self) -> &'static str {
        match self {
            Colour::Red => "红",
            Colour::Yellow => "黄",
            Colour::Green => "绿",
        }
    }
}
#[derive(Debug, Clone)]
pub struct ColourLimits {
    pub respond: Duration,
    pub resolve: Duration,
}
#[derive(Debug, Clone)]
pub struct Colours {
    pub red: ColourLimits,
    pub yellow: ColourLimits,
    pub green: ColourLimits,
}
impl Colours {
    pub fn get(&self, c: Colour) -> &ColourLimits {
        match c {
            Colour::Red => &self.red,
            Colour::Yellow => &self.yellow,
            Colour::Green => &self.green,
        }
    }
}
#[derive(Debug, Clone)]
pub struct Rule {
    pub pattern: regex::Regex,
    pub category: String,
    pub colour: Colour,
}
