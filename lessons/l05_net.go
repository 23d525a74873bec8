package lessons

// netLogic is written by the engineer who owns lesson 05; until then
// the content lint test fails on its empty logic.
func netLogic() Logic { return Logic{} }
