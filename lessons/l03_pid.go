package lessons

// pidLogic is written by the engineer who owns lesson 03; until then
// the content lint test fails on its empty logic.
func pidLogic() Logic { return Logic{} }
