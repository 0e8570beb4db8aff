from gmm_desktop.app import main

main()
