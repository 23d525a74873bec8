package lessons

// timeLogic is written by the engineer who owns lesson 12; until then
// the content lint test fails on its empty logic.
func timeLogic() Logic { return Logic{} }
