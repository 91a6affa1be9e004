//! The rejects workbook's `Customers` sheet.

use crate::validate::CustomerReport;
use rust_xlsxwriter::{Color, Format, Workbook};

/// The `Customers` sheet: each customer with a problem, the values that will
/// be sent, and each conflicting value with where it is.
pub(super) fn customers_sheet(
    wb: &mut Workbook,
    customers: &[CustomerReport],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name("Customers")?;
    let bold = Format::new().set_bold();
    let red = Format::new().set_background_color(Color::RGB(0xFFC7CE));
    let yellow = Format::new().set_background_color(Color::RGB(0xFFEB9C));
    let headers = [
        "customer",
        "documents",
        "rejected because",
        "field",
        "value sent",
        "where",
        "other value",
        "where",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut r = 1u32;
    for cu in customers {
        let plain = Format::new();
        let f = if cu.rejected.is_some() { &red } else { &plain };
        ws.write_string_with_format(r, 0, &cu.key, f)?;
        ws.write_number(r, 1, cu.documents as f64)?;
        if let Some(why) = &cu.rejected {
            ws.write_string_with_format(r, 2, why, &red)?;
        }
        for d in &cu.account_differences {
            ws.write_string(r, 0, &cu.key)?;
            ws.write_string_with_format(r, 3, d.field, &yellow)?;
            ws.write_string(r, 4, &d.file)?;
            ws.write_string(r, 5, &d.at)?;
            ws.write_string_with_format(r, 6, &d.account, &yellow)?;
            ws.write_string(r, 7, "on the account")?;
            r += 1;
        }
        if cu.conflicts.is_empty() && cu.account_differences.is_empty() {
            let chosen: Vec<String> = cu.chosen.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            ws.write_string(r, 4, chosen.join("; "))?;
            r += 1;
        }
        for c in &cu.conflicts {
            let f = if c.error { &red } else { &yellow };
            ws.write_string(r, 0, &cu.key)?;
            ws.write_string_with_format(r, 3, c.field, f)?;
            ws.write_string(r, 4, &c.chosen)?;
            ws.write_string(r, 5, &c.chosen_at)?;
            ws.write_string_with_format(r, 6, &c.other, f)?;
            ws.write_string(r, 7, &c.other_at)?;
            r += 1;
        }
        if cu.more_conflicts > 0 {
            ws.write_string(r, 3, format!("… and {} more", cu.more_conflicts))?;
            r += 1;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, r.max(1) - 1, headers.len() as u16 - 1)?;
    ws.set_autofit_max_width(320).autofit();
    Ok(())
}
