package lessons

// utsLogic is written by the engineer who owns lesson 02; until then
// the content lint test fails on its empty logic.
func utsLogic() Logic { return Logic{} }
