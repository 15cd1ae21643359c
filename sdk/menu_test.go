package sdk

import "testing"

// TestMenuStepValidate: the menu step (issue 17) needs a known style, the
// numbered style its markup, and blocks that each select something.
func TestMenuStepValidate(t *testing.T) {
	enter := "y"
	cases := []struct {
		name string
		step Step
		ok   bool
	}{
		{"highlight", Step{Kind: StepMenu, Menu: &MenuStep{Style: MenuHighlight, Blocks: []MenuBlock{{Items: []string{"Boot Manager"}}}}}, true},
		{"numbered", Step{Kind: StepMenu, Menu: &MenuStep{Style: MenuNumbered, ItemMarkup: []string{"[", "]"}, ItemClass: "0-9",
			Blocks: []MenuBlock{{Enter: &enter, Wait: "Choice:"}}}}, true},
		{"escape only", Step{Kind: StepMenu, Menu: &MenuStep{Style: MenuHighlight, Blocks: []MenuBlock{{Escape: true}}}}, true},
		{"numbered without markup", Step{Kind: StepMenu, Menu: &MenuStep{Style: MenuNumbered, Blocks: []MenuBlock{{Items: []string{"x"}}}}}, false},
		{"unknown style", Step{Kind: StepMenu, Menu: &MenuStep{Style: "mouse", Blocks: []MenuBlock{{Items: []string{"x"}}}}}, false},
		{"no blocks", Step{Kind: StepMenu, Menu: &MenuStep{Style: MenuHighlight}}, false},
		{"empty block", Step{Kind: StepMenu, Menu: &MenuStep{Style: MenuHighlight, Blocks: []MenuBlock{{Wait: "x"}}}}, false},
		{"no payload", Step{Kind: StepMenu}, false},
		{"two payloads", Step{Kind: StepMenu, Menu: &MenuStep{Style: MenuHighlight, Blocks: []MenuBlock{{Escape: true}}}, Send: &SendStep{Text: "x"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.step.Validate()
			if (err == nil) != c.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, c.ok)
			}
		})
	}
}
