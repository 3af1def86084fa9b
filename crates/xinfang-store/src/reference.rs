//! The reference lists this desk offers in its forms and checks submissions against: the
//! compiled-in categories and legal routes, each replaced by the city's list when the last sync
//! brought a good one (`xinfang_core::reference::ReferenceData::with_city_lists` decides; the
//! lists are read with [`Store::city_reference`]). The holiday calendar is merged the same way
//! by [`Store::holiday_calendar`].

use std::collections::BTreeMap;

use xinfang_core::reference::ReferenceData;

use crate::Store;

impl Store {
    /// Categories and legal routes as this desk uses them now. A city list that does not check
    /// out (or city data that cannot be read) is left out with a warning in the log: the desk
    /// goes on with the compiled-in list.
    pub fn reference_data(&self) -> ReferenceData {
        let lists = self.city_reference().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "city reference data unreadable; using the bundled lists");
            BTreeMap::new()
        });
        let (data, refused) = ReferenceData::with_city_lists(&lists);
        for r in refused {
            tracing::warn!(list = r.name, error = %r.error, "city reference list refused; using the bundled one");
        }
        data
    }
}
