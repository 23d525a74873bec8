package lessons

// userLogic is written by the engineer who owns lesson 07; until then
// the content lint test fails on its empty logic.
func userLogic() Logic { return Logic{} }
