//! Print the summary of a payload file: `cargo run -p orgpack-payload --example inspect -- FILE`.

#![allow(clippy::print_stdout)]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: inspect FILE")?;
    let file = std::fs::File::open(&path)?;
    let summary = orgpack_payload::inspect(std::io::BufReader::new(file), &path)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
