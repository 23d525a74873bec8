package lessons

// unshareLogic is written by the engineer who owns lesson 09; until then
// the content lint test fails on its empty logic.
func unshareLogic() Logic { return Logic{} }
