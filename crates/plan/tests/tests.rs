//! Plans: what the machines cannot give is refused before anything starts,
//! pointing at the scenario line or the flag; a level's load settings.

mod plans;
