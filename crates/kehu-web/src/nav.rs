//! Navigation entries: each module contributes its own (`Module::nav`); the
//! page frame shows, in `order`, those the signed-in user's rights allow.

use kehu_domain::Right;

/// One entry of the main navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavEntry {
    pub href: &'static str,
    /// The Fluent message id of its label (in both locale files).
    pub key: &'static str,
    /// The right it needs; `None`: every signed-in user sees it.
    pub right: Option<Right>,
    /// Where it goes, smallest first: home 0, product modules 100–799, the system
    /// administration pages 800–899, the API documentation 900.
    pub order: i32,
    /// The Fluent id of the menu it is in (a module's pages under one heading: 服务管理 →
    /// 服务创建, 服务分配 …); `None`: a link of its own in the bar. A group's entries follow
    /// one another in `order`.
    pub group: Option<&'static str>,
}

impl NavEntry {
    pub const fn new(
        href: &'static str,
        key: &'static str,
        right: Option<Right>,
        order: i32,
    ) -> Self {
        Self {
            href,
            key,
            right,
            order,
            group: None,
        }
    }

    /// This entry in the menu `group` (a Fluent id).
    pub const fn in_group(mut self, group: &'static str) -> Self {
        self.group = Some(group);
        self
    }
}
