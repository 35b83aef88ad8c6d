package main

import (
	"fmt"
	"strings"
)

// A unit belongs to a dimension and converts to and from that dimension's base unit.
type unit struct {
	dimension string
	toBase    func(float64) float64
	fromBase  func(float64) float64
}

func scale(factor float64) (func(float64) float64, func(float64) float64) {
	return func(v float64) float64 { return v * factor }, func(v float64) float64 { return v / factor }
}

var units = map[string]unit{}

func register(dimension string, names []string, to, from func(float64) float64) {
	for _, name := range names {
		units[name] = unit{dimension, to, from}
	}
}

func init() {
	// Temperatures: the base unit is the degree Celsius.
	register("temperature", []string{"c", "celsius"}, func(v float64) float64 { return v }, func(v float64) float64 { return v })
	register("temperature", []string{"f", "fahrenheit"},
		func(v float64) float64 { return (v - 32) * 5 / 9 },
		func(v float64) float64 { return v*9/5 + 32 })
	register("temperature", []string{"k", "kelvin"},
		func(v float64) float64 { return v - 273.15 },
		func(v float64) float64 { return v + 273.15 })

	// Lengths: the base unit is the metre.
	for names, factor := range map[string]float64{"m,metre,meter": 1, "km,kilometre,kilometer": 1000, "cm": 0.01, "mm": 0.001, "in,inch": 0.0254, "ft,foot,feet": 0.3048, "mi,mile": 1609.344} {
		to, from := scale(factor)
		register("length", strings.Split(names, ","), to, from)
	}

	// Masses: the base unit is the kilogram.
	for names, factor := range map[string]float64{"kg,kilogram": 1, "g,gram": 0.001, "lb,pound": 0.45359237, "oz,ounce": 0.028349523125} {
		to, from := scale(factor)
		register("mass", strings.Split(names, ","), to, from)
	}
}

// Convert converts value from one unit to another of the same dimension.
func Convert(value float64, from, to string) (float64, error) {
	src, ok := units[strings.ToLower(from)]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", from)
	}
	dst, ok := units[strings.ToLower(to)]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", to)
	}
	if src.dimension != dst.dimension {
		return 0, fmt.Errorf("cannot convert %s (%s) to %s (%s)", from, src.dimension, to, dst.dimension)
	}
	return dst.fromBase(src.toBase(value)), nil
}
