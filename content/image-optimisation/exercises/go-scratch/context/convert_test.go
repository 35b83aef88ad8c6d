package main

import (
	"math"
	"testing"
)

func TestConvert(t *testing.T) {
	cases := []struct {
		value    float64
		from, to string
		want     float64
	}{
		{100, "c", "f", 212},
		{0, "c", "k", 273.15},
		{1, "mi", "km", 1.609344},
		{1, "lb", "g", 453.59237},
	}
	for _, c := range cases {
		got, err := Convert(c.value, c.from, c.to)
		if err != nil {
			t.Fatalf("Convert(%v, %s, %s): %v", c.value, c.from, c.to, err)
		}
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Convert(%v, %s, %s) = %v, want %v", c.value, c.from, c.to, got, c.want)
		}
	}
	if _, err := Convert(1, "kg", "m"); err == nil {
		t.Error("converting a mass to a length should fail")
	}
}
