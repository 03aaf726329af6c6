//! What the pages show for a coded field: the label of its dictionary value in the page's
//! language (a customer's level `key_account` reads 大客户, or Key account in English; a
//! service's type `complaint` 投诉 or Complaint), and the dictionary's values as a select's
//! options. One [`Labels`] holds the kinds a page needs.

use std::collections::HashMap;

use kehu_domain::user::Language;
use kehu_store::{PageRequest, StoreResult};

use crate::state::AppState;
use crate::views::Opt;

/// The most values of one kind a page offers (the dictionary keeps kinds short).
const PER_KIND: u64 = 200;

/// Dictionary labels of some kinds, each kind's values in the dictionary's order.
#[derive(Debug, Clone, Default)]
pub struct Labels(HashMap<String, Vec<(String, String)>>);

impl Labels {
    /// The labels of `kinds` in `lang` (an item without an English name keeps its own), read
    /// from the dictionary's cached snapshot.
    pub async fn load(state: &AppState, lang: Language, kinds: &[&str]) -> StoreResult<Self> {
        let mut map = HashMap::new();
        for kind in kinds {
            let page = state
                .store
                .dictionary
                .list(Some(kind), PageRequest::new(None, Some(PER_KIND)))
                .await?;
            let items = page
                .items
                .iter()
                .map(|e| (e.value.clone(), e.name(lang).to_owned()))
                .collect();
            map.insert((*kind).to_owned(), items);
        }
        Ok(Self(map))
    }

    /// The label of `value` in `kind`: the value itself when the dictionary lost it, nothing
    /// for no value.
    pub fn of(&self, kind: &str, value: Option<&str>) -> String {
        let Some(v) = value.filter(|v| !v.is_empty()) else {
            return String::new();
        };
        self.entries(kind)
            .iter()
            .find(|(val, _)| val == v)
            .map_or_else(|| v.to_owned(), |(_, label)| label.clone())
    }

    /// `kind`'s values as a select's options, `current` selected.
    pub fn options(&self, kind: &str, current: &str) -> Vec<Opt> {
        Opt::list(self.entries(kind).iter().cloned(), current)
    }

    /// `kind`'s values, in the dictionary's order.
    pub fn values(&self, kind: &str) -> impl Iterator<Item = &str> {
        self.entries(kind).iter().map(|(v, _)| v.as_str())
    }

    /// `kind`'s (value, label) pairs, in the dictionary's order.
    pub fn entries(&self, kind: &str) -> &[(String, String)] {
        self.0.get(kind).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> Labels {
        let items = vec![
            ("key_account".to_owned(), "重点客户".to_owned()),
            ("normal".to_owned(), "普通客户".to_owned()),
        ];
        Labels(HashMap::from([("customer_level".to_owned(), items)]))
    }

    #[test]
    fn a_value_reads_as_its_label_or_itself_when_the_dictionary_lost_it() {
        let l = levels();
        assert_eq!(l.of("customer_level", Some("key_account")), "重点客户");
        assert_eq!(l.of("customer_level", Some("gone")), "gone");
        assert_eq!(l.of("customer_level", None), "");
        assert_eq!(l.of("customer_level", Some("")), "");
        assert_eq!(l.of("region", Some("east")), "east");
    }

    #[test]
    fn options_keep_the_dictionary_order_and_mark_the_current_value() {
        let opts = levels().options("customer_level", "normal");
        let got: Vec<(&str, bool)> = opts
            .iter()
            .map(|o| (o.label.as_str(), o.selected))
            .collect();
        assert_eq!(got, [("重点客户", false), ("普通客户", true)]);
        let l = levels();
        let values: Vec<&str> = l.values("customer_level").collect();
        assert_eq!(values, ["key_account", "normal"]);
    }
}
