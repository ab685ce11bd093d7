import { withoutSuggestions } from '../../src/api/limits';

describe('withoutSuggestions', () => {
  it("cuts graphql-js's trailing suggestion, whatever it suggests", () => {
    expect(withoutSuggestions('Cannot query field "tickt" on type "Query". Did you mean "ticket" or "tickets"?')).toBe('Cannot query field "tickt" on type "Query".');
    expect(withoutSuggestions('Value "OPN" does not exist in "Status" enum. Did you mean the enum value "OPEN"?')).toBe('Value "OPN" does not exist in "Status" enum.');
    expect(withoutSuggestions('Cannot query field "x" on type "Node". Did you mean to use an inline fragment on "Ticket"?')).toBe('Cannot query field "x" on type "Node".');
  });

  it('keeps the echoed input before the suggestion, and messages without one', () => {
    const echoed = 'Variable "$input" got invalid value { note: "Did you mean me?" }; Field "titel" is not defined by type "OpenTicketInput". Did you mean "title"?';
    expect(withoutSuggestions(echoed)).toBe('Variable "$input" got invalid value { note: "Did you mean me?" }; Field "titel" is not defined by type "OpenTicketInput".');
    expect(withoutSuggestions('Syntax Error: Expected Name, found "?"')).toBe('Syntax Error: Expected Name, found "?"');
    expect(withoutSuggestions('the token has expired')).toBe('the token has expired');
  });
});
