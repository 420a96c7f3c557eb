// Code derived from the GS1 EPCIS 2.0.0 JSON-LD context (epcis-context.jsonld):
// the bare-string terms of every property typed "@vocab" and the IRI each expands to.

package epcis

// vocab names a property whose JSON-LD value may be a bare CBV or GS1 Web
// Vocabulary term.
type vocab uint8

const (
	vocabNone vocab = iota
	vocabBizStep
	vocabDisposition
	vocabBizTransactionType
	vocabSourceDestType
	vocabErrorReason
	vocabComponent
	vocabMeasurementType
	vocabSensorAlertType
)

// expandTerm returns the IRI that the EPCIS JSON-LD context gives the bare
// term in a property of kind v, or "" when the context does not define it.
//
// The GS1 Web Vocabulary of measurement and sensor alert types grows
// between context releases (EffectiveDoseRate is not in the EPCIS 2.0.0
// context), and every term of it lives under https://gs1.org/voc/: a bare
// word in these two vocabularies is taken for a term there.
func expandTerm(v vocab, term string) string {
	if (v == vocabMeasurementType || v == vocabSensorAlertType) && bareWord(term) {
		return "https://gs1.org/voc/" + term
	}
	if !knownTerm(v, term) {
		return ""
	}
	switch v {
	case vocabBizStep:
		return "https://ref.gs1.org/cbv/BizStep-" + term
	case vocabDisposition:
		return "https://ref.gs1.org/cbv/Disp-" + term
	case vocabBizTransactionType:
		return "https://ref.gs1.org/cbv/BTT-" + term
	case vocabSourceDestType:
		return "https://ref.gs1.org/cbv/SDT-" + term
	case vocabErrorReason:
		return "https://ref.gs1.org/cbv/ER-" + term
	case vocabComponent:
		return "https://ref.gs1.org/cbv/Comp-" + term
	case vocabMeasurementType:
		return "https://gs1.org/voc/" + term
	case vocabSensorAlertType:
		return "https://gs1.org/voc/" + term
	}
	return ""
}

// knownTerm reports whether term is defined for properties of kind v.
func knownTerm(v vocab, term string) bool {
	switch v {
	case vocabBizStep:
		switch term {
		case "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
			"creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying",
			"disassembling", "dispensing", "encoding", "entering_exiting", "holding", "inspecting",
			"installing", "killing", "loading", "other", "packing", "picking", "receiving", "removing",
			"repackaging", "repairing", "replacing", "reserving", "retail_selling", "sampling",
			"sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking", "storing",
			"transporting", "unloading", "unpacking", "void_shipping":
			return true
		}
	case vocabDisposition:
		switch term {
		case "active", "available", "completeness_inferred", "completeness_verified", "conformant",
			"container_closed", "container_open", "damaged", "destroyed", "dispensed", "disposed",
			"encoded", "expired", "in_progress", "in_transit", "inactive", "mismatch_class",
			"mismatch_instance", "mismatch_quantity", "needs_replacement", "no_pedigree_match",
			"non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved",
			"retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen",
			"unavailable", "unknown":
			return true
		}
	case vocabBizTransactionType:
		switch term {
		case "bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma",
			"testprd", "testres", "upevt":
			return true
		}
	case vocabSourceDestType:
		switch term {
		case "location", "owning_party", "possessing_party":
			return true
		}
	case vocabErrorReason:
		switch term {
		case "did_not_occur", "incorrect_data":
			return true
		}
	case vocabComponent:
		switch term {
		case "altitude", "axial_distance", "azimuth", "easting", "elevation_angle", "height", "latitude",
			"longitude", "northing", "polar_angle", "spherical_radius", "x", "y", "z":
			return true
		}
	case vocabMeasurementType:
		switch term {
		case "AbsoluteHumidity", "AbsorbedDose", "AbsorbedDoseRate", "Acceleration", "Altitude",
			"AmountOfSubstance", "AmountOfSubstancePerUnitVolume", "Angle", "AngularAcceleration",
			"AngularMomentum", "AngularVelocity", "Area", "Capacitance", "Conductance", "Conductivity",
			"Count", "Density", "Dimensionless", "DoseEquivalent", "DoseEquivalentRate", "DynamicViscosity",
			"ElectricCharge", "ElectricCurrent", "ElectricCurrentDensity", "ElectricFieldStrength",
			"Energy", "Exposure", "Force", "Frequency", "Illuminance", "Inductance", "Irradiance",
			"KinematicViscosity", "Length", "LinearMomentum", "Luminance", "LuminousFlux",
			"LuminousIntensity", "MagneticFlux", "MagneticFluxDensity", "MagneticVectorPotential", "Mass",
			"MassConcentration", "MassFlowRate", "MassPerAreaTime", "MemoryCapacity", "MolalityOfSolute",
			"MolarEnergy", "MolarMass", "MolarVolume", "Power", "Pressure", "RadiantFlux",
			"RadiantIntensity", "Radioactivity", "RelativeHumidity", "Resistance", "Resistivity",
			"SolidAngle", "SpecificVolume", "Speed", "SurfaceDensity", "SurfaceTension", "Temperature",
			"Time", "Torque", "Voltage", "Volume", "VolumeFlowRate", "VolumeFraction", "VolumetricFlux",
			"Wavenumber":
			return true
		}
	case vocabSensorAlertType:
		switch term {
		case "ALARM_CONDITION", "ERROR_CONDITION":
			return true
		}
	}
	return false
}

// bareWord reports whether s is a non-empty run of ASCII letters, digits,
// '_' and '-' starting with a letter, the form of a Web Vocabulary term.
func bareWord(s string) bool {
	if s == "" || !(s[0] >= 'A' && s[0] <= 'Z' || s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
